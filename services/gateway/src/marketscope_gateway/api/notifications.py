"""The caller's inbox: notifications (fired alerts, finished analyses, indexed documents)
listed, counted and marked read through notifier with the caller's identity (notifier
scopes every notification to its owner)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query
from fastapi.responses import Response

from marketscope_gateway.api.deps import Caller, Gateway, relay, relayed
from marketscope_servicekit import NotFound

router = APIRouter(prefix="/api/v1", tags=["notifications"])
NotificationId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,128}$")]
LISTED = relayed()
# 404 for a notification that is not the caller's.
MARKED = relayed(NotFound, answer="Marked read", success=204)


@router.get("/notifications", response_model=None, responses=LISTED)
async def notifications(
    caller: Caller,
    gateway: Gateway,
    limit: Annotated[int | None, Query(ge=1, le=100)] = None,
    cursor: Annotated[str | None, Query(max_length=512, description="next_cursor")] = None,
    unread: Annotated[bool | None, Query(description="Only the unread ones")] = None,
) -> Response:
    """The caller's notifications, newest first, a page at a time."""
    params = {"limit": limit, "cursor": cursor, "unread": unread}
    return relay(await gateway.notifier.notifications(caller.identity, params))


@router.get("/notifications/unread-count", response_model=None, responses=LISTED)
async def unread_count(caller: Caller, gateway: Gateway) -> Response:
    """``{unread}``: how many of the caller's notifications are unread."""
    return relay(await gateway.notifier.unread_count(caller.identity))


@router.post(
    "/notifications/{notification_id}/read",
    response_model=None,
    responses=MARKED,
    status_code=204,
)
async def mark_read(notification_id: NotificationId, caller: Caller, gateway: Gateway) -> Response:
    return relay(await gateway.notifier.mark_read(caller.identity, notification_id))


@router.post("/notifications/read-all", response_model=None, responses=LISTED)
async def mark_all_read(caller: Caller, gateway: Gateway) -> Response:
    """``{marked}``: how many were unread and now are read."""
    return relay(await gateway.notifier.mark_all_read(caller.identity))
