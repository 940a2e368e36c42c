"""The inbox: notifications newest first, the unread count, marking them read."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from marketscope_notifier.api.deps import Caller, Inbox
from marketscope_notifier.errors import NotificationNotFound
from marketscope_notifier.schemas import MarkedRead, NotificationList, NotificationOut, UnreadCount
from marketscope_servicekit.openapi_problems import problem_responses
from marketscope_servicekit.owned_index import InvalidCursor

router = APIRouter(tags=["notifications"])


@router.get("/notifications", responses=problem_responses(InvalidCursor))
async def list_notifications(
    caller: Caller,
    inbox: Inbox,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
    unread: Annotated[bool, Query(description="Only the unread ones")] = False,
) -> NotificationList:
    page = await inbox.page(caller.user_id, limit=limit, cursor=cursor, unread_only=unread)
    return NotificationList(
        items=[NotificationOut.of(entry) for entry in page.items], next_cursor=page.next_cursor
    )


@router.get("/notifications/unread-count")
async def unread_count(caller: Caller, inbox: Inbox) -> UnreadCount:
    return UnreadCount(unread=await inbox.unread_count(caller.user_id))


@router.post(
    "/notifications/{notification_id}/read",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(NotificationNotFound),
)
async def mark_read(notification_id: str, caller: Caller, inbox: Inbox) -> Response:
    await inbox.mark_read(caller.user_id, notification_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/notifications/read-all")
async def mark_all_read(caller: Caller, inbox: Inbox) -> MarkedRead:
    return MarkedRead(marked=await inbox.mark_all_read(caller.user_id))
