"""Idempotency records in the consumer's own table, claimed with a conditional put."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from marketscope_events.aws_errors import error_code
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
    from types_aiobotocore_dynamodb.type_defs import AttributeValueTypeDef

    Item = dict[str, AttributeValueTypeDef]


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

    async def begin(self, consumer: str, event_id: str, *, claim_for: timedelta) -> None:
        now = str(int(self._clock().timestamp()))
        try:
            await self._db.put_item(
                TableName=self._table,
                Item=self._item(consumer, event_id, "in_progress", claim_for),
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

    async def _status(self, consumer: str, event_id: str) -> str | None:
        try:
            existing = await self._db.get_item(
                TableName=self._table, Key=self._key(consumer, event_id), ConsistentRead=True
            )
        except (ClientError, BotoCoreError) as exc:
            raise StoreUnavailableError(str(exc)) from exc
        return existing.get("Item", {}).get("status", {}).get("S")

    async def extend(self, consumer: str, event_id: str, *, claim_for: timedelta) -> None:
        expires = int((self._clock() + claim_for).timestamp())
        try:
            await self._db.update_item(
                TableName=self._table,
                Key=self._key(consumer, event_id),
                UpdateExpression=f"SET {TTL_ATTRIBUTE} = :expires",
                ConditionExpression="#status = :in_progress",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={
                    ":expires": {"N": str(expires)},
                    ":in_progress": {"S": "in_progress"},
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

    async def release(self, consumer: str, event_id: str) -> None:
        try:
            await self._db.delete_item(TableName=self._table, Key=self._key(consumer, event_id))
        except (ClientError, BotoCoreError) as exc:
            raise StoreUnavailableError(str(exc)) from exc
