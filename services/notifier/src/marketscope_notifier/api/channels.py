"""The caller's delivery channels: webhooks (a signing secret shown once, rotation, test
event, deliveries log with redeliver), e-mail and SMS (a code proves the number)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from marketscope_notifier.api.deps import Caller, Channels, DeliveriesDep
from marketscope_notifier.channels.service import ChannelChange, NewEmail, NewSms, NewWebhook
from marketscope_notifier.errors import (
    ChannelConflict,
    ChannelNotFound,
    DeliveryNotFound,
    InvalidChannel,
)
from marketscope_notifier.schemas import (
    CHANNEL_LINK,
    ChannelChangeBody,
    ChannelCreate,
    ChannelList,
    ChannelOut,
    ChannelWithSecret,
    DeliveryList,
    DeliveryOut,
    EmailChannelCreate,
    SmsChannelCreate,
    VerificationCode,
    WebhookChannelCreate,
)
from marketscope_servicekit import DependencyUnavailable
from marketscope_servicekit.openapi_problems import problem_responses
from marketscope_servicekit.owned_index import InvalidCursor

router = APIRouter(prefix="/notification-channels", tags=["notification channels"])
FOUND = problem_responses(ChannelNotFound)
CHANGED = problem_responses(ChannelNotFound, ChannelConflict, InvalidChannel)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    responses=problem_responses(InvalidChannel, DependencyUnavailable),
)
async def create_channel(
    body: ChannelCreate, caller: Caller, channels: Channels, response: Response
) -> ChannelWithSecret:
    """Add a channel. A webhook's URL must be public (or in the allow-listed networks);
    its signing secret is in this answer only. An e-mail channel is an SNS subscription
    filtered on the caller; an SMS one awaits the code sent to the number."""
    secret: str | None = None
    match body:
        case WebhookChannelCreate():
            spec = NewWebhook(body.url, body.kinds, body.description)
            channel, secret = await channels.create_webhook(caller.user_id, spec)
        case EmailChannelCreate():
            email = NewEmail(body.email, body.kinds, body.description)
            channel = await channels.create_email(caller.user_id, email)
        case SmsChannelCreate():
            sms = NewSms(body.phone, body.kinds, body.description)
            channel = await channels.create_sms(caller.user_id, sms)
    response.headers["Location"] = f"/notification-channels/{channel.channel_id}"
    return ChannelWithSecret(channel=ChannelOut.of(channel), secret=secret)


@router.get("")
async def list_channels(caller: Caller, channels: Channels) -> ChannelList:
    """The caller's channels, newest first."""
    return ChannelList(items=[ChannelOut.of(c) for c in await channels.list(caller.user_id)])


@router.get("/{channel_id}", responses=FOUND)
async def get_channel(channel_id: str, caller: Caller, channels: Channels) -> ChannelOut:
    return ChannelOut.of(await channels.get(caller.user_id, channel_id))


@router.patch("/{channel_id}", responses=CHANGED)
async def change_channel(
    channel_id: str, body: ChannelChangeBody, caller: Caller, channels: Channels
) -> ChannelOut:
    """Change the kinds it gets, its description or URL; disable it, or enable it again
    after it was disabled (by its owner, a 410, or 5 days of failures)."""
    change = ChannelChange(
        kinds=body.kinds, description=body.description, enabled=body.enabled, url=body.url
    )
    return ChannelOut.of(await channels.change(caller.user_id, channel_id, change))


@router.delete("/{channel_id}", status_code=status.HTTP_204_NO_CONTENT, responses=FOUND)
async def delete_channel(channel_id: str, caller: Caller, channels: Channels) -> Response:
    await channels.delete(caller.user_id, channel_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/{channel_id}/rotate-secret", responses=CHANGED)
async def rotate_secret(channel_id: str, caller: Caller, channels: Channels) -> ChannelWithSecret:
    """A new signing secret, in this answer only. Messages are signed with the new and the
    old one for 24 hours (one signature each), so receivers can switch meanwhile."""
    channel, secret = await channels.rotate_secret(caller.user_id, channel_id)
    return ChannelWithSecret(channel=ChannelOut.of(channel), secret=secret)


@router.post("/{channel_id}/verify", responses=CHANGED)
async def verify(
    channel_id: str, body: VerificationCode, caller: Caller, channels: Channels
) -> ChannelOut:
    """Prove an SMS channel's number with the code sent to it (5 tries, 15 minutes)."""
    return ChannelOut.of(await channels.verify(caller.user_id, channel_id, body.code))


@router.post("/{channel_id}/resend-code", responses=CHANGED)
async def resend_code(channel_id: str, caller: Caller, channels: Channels) -> ChannelOut:
    return ChannelOut.of(await channels.resend_code(caller.user_id, channel_id))


@router.post("/{channel_id}/test", responses=CHANGED)
async def send_test(
    channel_id: str, caller: Caller, channels: Channels, deliveries: DeliveriesDep
) -> DeliveryOut:
    """Send a test event now; the answer is the delivery with its one attempt."""
    channel = await channels.get(caller.user_id, channel_id)
    return DeliveryOut.of(await deliveries.test(channel))


@router.get("/{channel_id}/deliveries", responses=problem_responses(ChannelNotFound, InvalidCursor))
async def list_deliveries(
    channel_id: str,
    caller: Caller,
    channels: Channels,
    deliveries: DeliveriesDep,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
) -> DeliveryList:
    """Every delivery to the channel, newest first, each with all its attempts."""
    await channels.get(caller.user_id, channel_id)
    items, next_cursor = await deliveries.log(channel_id, limit=limit, cursor=cursor)
    return DeliveryList(items=[DeliveryOut.of(d) for d in items], next_cursor=next_cursor)


@router.post(
    "/{channel_id}/deliveries/{delivery_id}/redeliver",
    status_code=status.HTTP_202_ACCEPTED,
    responses=problem_responses(ChannelNotFound, DeliveryNotFound, ChannelConflict),
)
async def redeliver(
    channel_id: str,
    delivery_id: str,
    caller: Caller,
    channels: Channels,
    deliveries: DeliveriesDep,
    response: Response,
) -> DeliveryOut:
    """Queue one more attempt of a delivery, whatever became of it (the same webhook-id,
    so a receiver that has it can tell)."""
    channel = await channels.get(caller.user_id, channel_id)
    delivery = await deliveries.redeliver(channel, delivery_id)
    response.headers["Location"] = (
        CHANNEL_LINK.format(channel_id=channel_id).removeprefix("/api/v1") + "/deliveries"
    )
    return DeliveryOut.of(delivery)
