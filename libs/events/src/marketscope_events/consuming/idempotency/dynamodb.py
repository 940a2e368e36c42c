"""Idempotency records in the consumer's own table, claimed with a conditional put.

``completion_write`` is the record's completion as one item of a handler's own
TransactWriteItems: the handler's side effect and "handled" commit together or not at
all, so a worker killed between the two leaves neither, and the redelivery runs once.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from marketscope_events.aws_errors import error_code
from marketscope_events.batch_writes import write_all
from marketscope_events.consuming.idempotency.base import IdempotencyStore, record_key
from marketscope_events.errors import (
    EventAlreadyHandledError,
    EventInProgressError,
    StoreUnavailableError,
)
from marketscope_events.store.table import TTL_ATTRIBUTE
from marketscope_events.timeutil import Clock, utc_now

if TYPE_CHECKING:
    from types_aiobotocore_dynamodb import DynamoDBClient
    from types_aiobotocore_dynamodb.type_defs import (
        AttributeValueTypeDef,
        TransactWriteItemTypeDef,
    )

    Item = dict[str, AttributeValueTypeDef]

HELD_BY_OWNER = "#status = :in_progress AND #owner = :owner"


class DynamoDBIdempotencyStore(IdempotencyStore):
    def __init__(
        self, dynamodb: DynamoDBClient, table_name: str, *, clock: Clock = utc_now
    ) -> None:
        self._db = dynamodb
        self._table = table_name
        self._clock = clock

    def _key(self, consumer: str, event_id: str) -> Item:
        return {"pk": {"S": record_key(consumer, event_id)}, "sk": {"N": "0"}}

    def _item(self, consumer: str, event_id: str, status: str, ttl: timedelta) -> Item:
        expires = int((self._clock() + ttl).timestamp())
        return {
            **self._key(consumer, event_id),
            "status": {"S": status},
            TTL_ATTRIBUTE: {"N": str(expires)},
        }

    async def begin(self, consumer: str, event_id: str, *, claim_for: timedelta) -> str:
        now = str(int(self._clock().timestamp()))
        owner = uuid.uuid4().hex
        try:
            await self._db.put_item(
                TableName=self._table,
                Item={
                    **self._item(consumer, event_id, "in_progress", claim_for),
                    "owner": {"S": owner},
                },
                # An expired record is as good as none: the emulator never deletes it.
                ConditionExpression=f"attribute_not_exists(pk) OR {TTL_ATTRIBUTE} <= :now",
                ExpressionAttributeValues={":now": {"N": now}},
            )
        except ClientError as exc:
            if error_code(exc) != "ConditionalCheckFailedException":
                raise StoreUnavailableError(str(exc)) from exc
            status = await self._status(consumer, event_id)
            if status == "completed":
                raise EventAlreadyHandledError(consumer, event_id) from exc
            raise EventInProgressError(consumer, event_id) from exc
        except BotoCoreError as exc:
            raise StoreUnavailableError(str(exc)) from exc
        return owner

    async def _status(self, consumer: str, event_id: str) -> str | None:
        try:
            existing = await self._db.get_item(
                TableName=self._table, Key=self._key(consumer, event_id), ConsistentRead=True
            )
        except (ClientError, BotoCoreError) as exc:
            raise StoreUnavailableError(str(exc)) from exc
        return existing.get("Item", {}).get("status", {}).get("S")

    async def extend(
        self, consumer: str, event_id: str, *, claim_for: timedelta, owner: str | None = None
    ) -> None:
        expires = int((self._clock() + claim_for).timestamp())
        try:
            await self._db.update_item(
                TableName=self._table,
                Key=self._key(consumer, event_id),
                UpdateExpression=f"SET {TTL_ATTRIBUTE} = :expires",
                **_held_by(owner),
                ExpressionAttributeValues={
                    ":expires": {"N": str(expires)},
                    **_held_by_values(owner),
                },
            )
        except ClientError as exc:
            if error_code(exc) != "ConditionalCheckFailedException":
                raise StoreUnavailableError(str(exc)) from exc
        except BotoCoreError as exc:
            raise StoreUnavailableError(str(exc)) from exc

    async def complete(self, consumer: str, event_id: str, *, keep_for: timedelta) -> None:
        try:
            await self._db.put_item(
                TableName=self._table, Item=self._item(consumer, event_id, "completed", keep_for)
            )
        except (ClientError, BotoCoreError) as exc:
            raise StoreUnavailableError(str(exc)) from exc

    async def complete_many(
        self, consumer: str, event_ids: Sequence[str], *, keep_for: timedelta
    ) -> None:
        """Completions in BatchWriteItem requests of 25: a completion overwrites the
        record unconditionally, as `complete` does, so it needs no condition."""
        await write_all(
            self._db,
            self._table,
            [
                {"PutRequest": {"Item": self._item(consumer, event_id, "completed", keep_for)}}
                # One request per key: BatchWriteItem refuses a batch naming one twice.
                for event_id in dict.fromkeys(event_ids)
            ],
            what="completions",
        )

    async def release(self, consumer: str, event_id: str, *, owner: str | None = None) -> None:
        try:
            if owner is None:
                await self._db.delete_item(TableName=self._table, Key=self._key(consumer, event_id))
            else:
                await self._db.delete_item(
                    TableName=self._table,
                    Key=self._key(consumer, event_id),
                    **_held_by(owner),
                    ExpressionAttributeValues=_held_by_values(owner),
                )
        except ClientError as exc:
            if error_code(exc) != "ConditionalCheckFailedException":
                raise StoreUnavailableError(str(exc)) from exc
        except BotoCoreError as exc:
            raise StoreUnavailableError(str(exc)) from exc

    def completion_write(
        self, consumer: str, event_id: str, *, owner: str, keep_for: timedelta
    ) -> TransactWriteItemTypeDef:
        """The completion of ``owner``'s claim as an item for TransactWriteItems: it fails
        the transaction (ConditionalCheckFailed) when the claim is no longer ``owner``'s."""
        expires = int((self._clock() + keep_for).timestamp())
        return {
            "Update": {
                "TableName": self._table,
                "Key": self._key(consumer, event_id),
                "UpdateExpression": f"SET #status = :completed, {TTL_ATTRIBUTE} = :expires "
                "REMOVE #owner",
                "ConditionExpression": HELD_BY_OWNER,
                "ExpressionAttributeNames": {"#status": "status", "#owner": "owner"},
                "ExpressionAttributeValues": {
                    ":completed": {"S": "completed"},
                    ":expires": {"N": str(expires)},
                    **_held_by_values(owner),
                },
            }
        }


def _held_by(owner: str | None) -> dict[str, Any]:
    """The condition (and names) of a claim still in progress, and ``owner``'s if given."""
    if owner is None:
        return {
            "ConditionExpression": "#status = :in_progress",
            "ExpressionAttributeNames": {"#status": "status"},
        }
    return {
        "ConditionExpression": HELD_BY_OWNER,
        "ExpressionAttributeNames": {"#status": "status", "#owner": "owner"},
    }


def _held_by_values(owner: str | None) -> Item:
    values: Item = {":in_progress": {"S": "in_progress"}}
    if owner is not None:
        values[":owner"] = {"S": owner}
    return values
