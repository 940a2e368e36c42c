"""The caller's delivery channels (webhook, e-mail, SMS) through notifier with the
caller's identity: added, listed, changed, removed; a webhook's secret rotated, a test
event sent, its deliveries listed and redelivered; an SMS number verified."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response

from marketscope_gateway.api.deps import Caller, Gateway, public_location, relay, relayed
from marketscope_gateway.errors import InvalidRequest
from marketscope_gateway.schemas import (
    ChannelChangeRequest,
    ChannelRequest,
    VerificationRequest,
)
from marketscope_servicekit import Conflict, NotFound

router = APIRouter(prefix="/api/v1", tags=["notification channels"])
ChannelId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,128}$")]
DeliveryId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,128}$")]
NOTIFIER_PREFIX = "/notification-channels/"
CREATED = relayed(
    InvalidRequest,
    answer="The channel, and a webhook's signing secret (shown this once); Location names it",
    success=201,
    descriptions={422: "Invalid body, or a webhook URL that is not public"},
)
LISTED = relayed()
FOUND = relayed(NotFound)
CHANGED = relayed(
    NotFound, Conflict, InvalidRequest, descriptions={409: "Not in a state for this action"}
)
DELETED = relayed(NotFound, answer="Deleted", success=204)
QUEUED = relayed(NotFound, Conflict, answer="The delivery, one more attempt queued", success=202)


@router.post("/notification-channels", response_model=None, responses=CREATED, status_code=201)
async def create_channel(
    _channel: ChannelRequest, request: Request, caller: Caller, gateway: Gateway
) -> Response:
    """Add a webhook, e-mail or SMS channel; notifications of the kinds it takes go to it
    as well as to the inbox and the WebSocket."""
    body = await request.body()
    return public_location(
        relay(await gateway.notifier.channels(caller.identity, "POST", body=body)), NOTIFIER_PREFIX
    )


@router.get("/notification-channels", response_model=None, responses=LISTED)
async def channels(caller: Caller, gateway: Gateway) -> Response:
    """The caller's channels, newest first."""
    return relay(await gateway.notifier.channels(caller.identity, "GET"))


@router.get("/notification-channels/{channel_id}", response_model=None, responses=FOUND)
async def channel(channel_id: ChannelId, caller: Caller, gateway: Gateway) -> Response:
    return relay(await gateway.notifier.channels(caller.identity, "GET", channel_id))


@router.patch("/notification-channels/{channel_id}", response_model=None, responses=CHANGED)
async def change_channel(
    channel_id: ChannelId,
    _change: ChannelChangeRequest,
    request: Request,
    caller: Caller,
    gateway: Gateway,
) -> Response:
    """Change the kinds it takes, its description or URL; disable it, or enable it again."""
    body = await request.body()
    return relay(await gateway.notifier.channels(caller.identity, "PATCH", channel_id, body=body))


@router.delete(
    "/notification-channels/{channel_id}", response_model=None, responses=DELETED, status_code=204
)
async def delete_channel(channel_id: ChannelId, caller: Caller, gateway: Gateway) -> Response:
    return relay(await gateway.notifier.channels(caller.identity, "DELETE", channel_id))


@router.post(
    "/notification-channels/{channel_id}/rotate-secret", response_model=None, responses=CHANGED
)
async def rotate_secret(channel_id: ChannelId, caller: Caller, gateway: Gateway) -> Response:
    """A new signing secret (shown this once); the old one stays valid for 24 hours."""
    upstream = await gateway.notifier.channels(caller.identity, "POST", channel_id, "rotate-secret")
    return relay(upstream)


@router.post("/notification-channels/{channel_id}/verify", response_model=None, responses=CHANGED)
async def verify_channel(
    channel_id: ChannelId,
    _code: VerificationRequest,
    request: Request,
    caller: Caller,
    gateway: Gateway,
) -> Response:
    """Prove an SMS channel's number with the code sent to it."""
    body = await request.body()
    upstream = await gateway.notifier.channels(
        caller.identity, "POST", channel_id, "verify", body=body
    )
    return relay(upstream)


@router.post(
    "/notification-channels/{channel_id}/resend-code", response_model=None, responses=CHANGED
)
async def resend_code(channel_id: ChannelId, caller: Caller, gateway: Gateway) -> Response:
    upstream = await gateway.notifier.channels(caller.identity, "POST", channel_id, "resend-code")
    return relay(upstream)


@router.post("/notification-channels/{channel_id}/test", response_model=None, responses=CHANGED)
async def test_channel(channel_id: ChannelId, caller: Caller, gateway: Gateway) -> Response:
    """Send a test event now; the answer is the delivery with its attempt."""
    return relay(await gateway.notifier.channels(caller.identity, "POST", channel_id, "test"))


@router.get("/notification-channels/{channel_id}/deliveries", response_model=None, responses=FOUND)
async def deliveries(
    channel_id: ChannelId,
    caller: Caller,
    gateway: Gateway,
    limit: Annotated[int | None, Query(ge=1, le=100)] = None,
    cursor: Annotated[str | None, Query(max_length=512, description="next_cursor")] = None,
) -> Response:
    """Every delivery to the channel, newest first, each with its attempts."""
    params = {"limit": limit, "cursor": cursor}
    upstream = await gateway.notifier.channels(
        caller.identity, "GET", channel_id, "deliveries", params=params
    )
    return relay(upstream)


@router.post(
    "/notification-channels/{channel_id}/deliveries/{delivery_id}/redeliver",
    response_model=None,
    responses=QUEUED,
    status_code=202,
)
async def redeliver(
    channel_id: ChannelId, delivery_id: DeliveryId, caller: Caller, gateway: Gateway
) -> Response:
    """Queue one more attempt of a delivery (the same webhook-id)."""
    upstream = await gateway.notifier.channels(
        caller.identity, "POST", channel_id, "deliveries", delivery_id, "redeliver"
    )
    return public_location(relay(upstream), NOTIFIER_PREFIX)
