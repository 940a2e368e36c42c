"""The inbox in the notifier table: ``Inbox#<owner>`` / ``sk`` = a number made from the
notification id.

Notification ids are time-ordered (`ids.timed_id`) and the sort key is made from the id,
so an owner's entries sort by time and a page is one query, newest first. An item holds
the notification as NotificationCreated carried it and whether it was read. Writing one
is conditional on its absence: the same notification written twice is one entry.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from marketscope_events.aws_errors import error_code
from marketscope_events.catalog.events import NotificationCreated
from marketscope_notifier.errors import NotificationNotFound
from marketscope_notifier.ids import UnknownId, sort_key_of, timed_id
from marketscope_notifier.pages import Filter, count, newest_first
from marketscope_servicekit.owned_index import Item, table_errors

if TYPE_CHECKING:
    from types_aiobotocore_dynamodb import DynamoDBClient

RETENTION_DAYS = 90
PREFIX = "ntf_"
UNREAD = Filter("#read = :false", {"#read": "read"}, {":false": {"BOOL": False}})


def notification_id(created_at: datetime, unique: str) -> str:
    """A time-ordered id for a notification about ``unique`` (a stable key of what it is
    about, so making it again names the same notification)."""
    return timed_id(PREFIX, created_at, unique)


def sort_key(notification_id: str) -> int:
    """The inbox's sort key of a notification id (`NotificationNotFound` for an id this
    service did not make)."""
    try:
        return sort_key_of(notification_id, PREFIX)
    except UnknownId as exc:
        raise NotificationNotFound(notification_id) from exc


@dataclass(frozen=True, slots=True)
class InboxEntry:
    notification: NotificationCreated
    read: bool


@dataclass(frozen=True, slots=True)
class InboxPage:
    items: list[InboxEntry]
    next_cursor: str | None


def _entry(item: Item) -> InboxEntry:
    return InboxEntry(
        NotificationCreated.model_validate_json(item["notification"]["S"]),
        item.get("read", {}).get("BOOL", False),
    )


class InboxRepository:
    def __init__(self, dynamodb: DynamoDBClient, table_name: str) -> None:
        self._db = dynamodb
        self._table = table_name

    def _key(self, owner: str, notification_id: str) -> Item:
        return {"pk": {"S": f"Inbox#{owner}"}, "sk": {"N": str(sort_key(notification_id))}}

    async def add(self, notification: NotificationCreated) -> bool:
        """Put it in its owner's inbox; False when it was there already."""
        expires = int(notification.created_at.timestamp()) + RETENTION_DAYS * 86400
        with table_errors():
            try:
                await self._db.put_item(
                    TableName=self._table,
                    Item={
                        **self._key(notification.owner, notification.notification_id),
                        "notification": {"S": notification.model_dump_json()},
                        "read": {"BOOL": False},
                        "expires_at": {"N": str(expires)},
                    },
                    ConditionExpression="attribute_not_exists(pk)",
                )
            except ClientError as exc:
                if error_code(exc) == "ConditionalCheckFailedException":
                    return False
                raise
        return True

    async def page(
        self, owner: str, *, limit: int, cursor: str | None, unread_only: bool
    ) -> InboxPage:
        page = await newest_first(
            self._db,
            self._table,
            f"Inbox#{owner}",
            limit=limit,
            cursor=cursor,
            where=UNREAD if unread_only else None,
        )
        return InboxPage([_entry(item) for item in page.items], page.next_cursor)

    async def unread_count(self, owner: str) -> int:
        return await count(self._db, self._table, f"Inbox#{owner}", UNREAD)

    async def mark_read(self, owner: str, notification_id: str) -> None:
        with table_errors():
            try:
                await self._db.update_item(
                    TableName=self._table,
                    Key=self._key(owner, notification_id),
                    UpdateExpression="SET #read = :true",
                    ConditionExpression="attribute_exists(pk)",
                    ExpressionAttributeNames={"#read": "read"},
                    ExpressionAttributeValues={":true": {"BOOL": True}},
                )
            except ClientError as exc:
                if error_code(exc) == "ConditionalCheckFailedException":
                    raise NotificationNotFound(notification_id) from exc
                raise

    async def mark_all_read(self, owner: str) -> int:
        """Mark every unread notification read; how many there were."""
        marked = 0
        cursor: str | None = None
        while True:
            page = await self.page(owner, limit=100, cursor=cursor, unread_only=True)
            for entry in page.items:
                await self.mark_read(owner, entry.notification.notification_id)
                marked += 1
            if page.next_cursor is None:
                return marked
            cursor = page.next_cursor
