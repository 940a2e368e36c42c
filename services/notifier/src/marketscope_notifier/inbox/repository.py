"""The inbox in the notifier table: ``Inbox#<owner>`` / ``sk`` = a number made from the
notification id.

Notification ids begin with their creation time in microseconds (hex, fixed width); the
sort key is that time followed by six digits taken from the rest of the id, so an owner's
entries sort by time and a page is one query, newest first. An item holds
the notification as NotificationCreated carried it and whether it was read. Writing one
is conditional on its absence: the same notification written twice is one entry.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from marketscope_events.aws_errors import error_code
from marketscope_events.catalog.events import NotificationCreated
from marketscope_notifier.errors import NotificationNotFound
from marketscope_servicekit.owned_index import InvalidCursor, Item, table_errors

if TYPE_CHECKING:
    from types_aiobotocore_dynamodb import DynamoDBClient
    from types_aiobotocore_dynamodb.type_defs import AttributeValueTypeDef, QueryInputTypeDef

RETENTION_DAYS = 90


def notification_id(created_at: datetime, unique: str) -> str:
    """A time-ordered id: microseconds since the epoch in 14 hex digits, then ``unique``
    (a stable key of what the notification is about, so making it again names the same
    notification)."""
    return f"ntf_{int(created_at.timestamp() * 1_000_000):014x}{unique[:24]}"


def sort_key(notification_id: str) -> int:
    """The inbox's sort key of an id `notification_id` made: its microseconds, then six
    digits of what follows (`NotificationNotFound` for an id it did not make)."""
    try:
        if not notification_id.startswith("ntf_") or len(notification_id) < 23:
            raise ValueError(notification_id)
        created = int(notification_id[4:18], 16)
        salt = int(notification_id[18:23], 16) % 1_000_000
    except ValueError as exc:
        raise NotificationNotFound(notification_id) from exc
    return created * 1_000_000 + salt


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
        values: dict[str, AttributeValueTypeDef] = {":pk": {"S": f"Inbox#{owner}"}}
        request: QueryInputTypeDef = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": values,
            "ScanIndexForward": False,
            "Limit": limit,
        }
        if unread_only:
            request["FilterExpression"] = "#read = :false"
            request["ExpressionAttributeNames"] = {"#read": "read"}
            values[":false"] = {"BOOL": False}
        if cursor:
            request["ExclusiveStartKey"] = {
                "pk": {"S": f"Inbox#{owner}"},
                "sk": {"N": _decode_cursor(cursor)},
            }
        entries: list[InboxEntry] = []
        last: str | None = None
        while len(entries) < limit:
            with table_errors():
                response = await self._db.query(**request)
            for item in response.get("Items", []):
                if len(entries) < limit:
                    entries.append(_entry(item))
                    last = item["sk"]["N"]
            if "LastEvaluatedKey" not in response:
                last = None if len(entries) < limit else last
                break
            request["ExclusiveStartKey"] = response["LastEvaluatedKey"]
        return InboxPage(entries, None if last is None else _encode_cursor(last))

    async def unread_count(self, owner: str) -> int:
        request: QueryInputTypeDef = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk",
            "FilterExpression": "#read = :false",
            "ExpressionAttributeNames": {"#read": "read"},
            "ExpressionAttributeValues": {
                ":pk": {"S": f"Inbox#{owner}"},
                ":false": {"BOOL": False},
            },
            "Select": "COUNT",
        }
        count = 0
        while True:
            with table_errors():
                response = await self._db.query(**request)
            count += response.get("Count", 0)
            if "LastEvaluatedKey" not in response:
                return count
            request["ExclusiveStartKey"] = response["LastEvaluatedKey"]

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


def _encode_cursor(sort_key: str) -> str:
    return base64.urlsafe_b64encode(json.dumps({"after": sort_key}).encode()).decode()


def _decode_cursor(cursor: str) -> str:
    try:
        after: Any = json.loads(base64.urlsafe_b64decode(cursor.encode()))["after"]
        int(after)
    except (ValueError, KeyError, TypeError) as exc:
        raise InvalidCursor("The cursor is not one this service gave out.") from exc
    return str(after)
