"""The event store on a service's DynamoDB table."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from marketscope_events.aws_errors import cancellation_codes, error_code
from marketscope_events.batch_writes import write_all
from marketscope_events.envelope import Envelope
from marketscope_events.errors import (
    ConcurrencyError,
    EventsError,
    EventStoreError,
    StoreUnavailableError,
)
from marketscope_events.store.base import (
    EventStore,
    OutboxEntry,
    Snapshot,
    numbered_for_append,
    stream_category,
)
from marketscope_events.store.table import (
    OUTBOX_INDEX,
    OUTBOX_PENDING,
    STREAMS_INDEX,
    TTL_ATTRIBUTE,
)
from marketscope_events.timeutil import Clock, utc_now

if TYPE_CHECKING:
    from types_aiobotocore_dynamodb import DynamoDBClient
    from types_aiobotocore_dynamodb.type_defs import (
        AttributeValueTypeDef,
        KeysAndAttributesUnionTypeDef,
        QueryInputTypeDef,
        TransactWriteItemTypeDef,
    )

    Item = dict[str, AttributeValueTypeDef]

SNAPSHOT_PREFIX = "Snapshot#"
_NOT_EXPIRED = f"attribute_not_exists({TTL_ATTRIBUTE}) OR {TTL_ATTRIBUTE} > :now"
_OUTBOX_ATTRIBUTES = frozenset({"outbox_status", "outbox_order"})
_UNAVAILABLE_CODES = {
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "RequestLimitExceeded",
    "InternalServerError",
    "ServiceUnavailable",
}
# Per-item reasons of a cancelled transaction: another writer got there first...
_CONFLICT_REASONS = {"ConditionalCheckFailed", "TransactionConflict"}
# ...or the table could not take the write just now.
_UNAVAILABLE_REASONS = {"ThrottlingError", "ProvisionedThroughputExceeded", "RequestLimitExceeded"}


def _epoch(value: datetime) -> str:
    return str(int(value.timestamp()))


class DynamoDBEventStore(EventStore):
    def __init__(
        self, dynamodb: DynamoDBClient, table_name: str, *, clock: Clock = utc_now
    ) -> None:
        self._db = dynamodb
        self._table = table_name
        self._clock = clock

    def _now(self) -> AttributeValueTypeDef:
        return {"N": _epoch(self._clock())}

    async def append(
        self,
        stream_id: str,
        events: Sequence[Envelope],
        *,
        expected_version: int,
        publish: bool = True,
        expires_at: datetime | None = None,
    ) -> list[Envelope]:
        stored = numbered_for_append(stream_id, events, expected_version)
        actions: list[TransactWriteItemTypeDef] = []
        if expected_version > 0:
            actions.append(
                {
                    "ConditionCheck": {
                        "TableName": self._table,
                        "Key": {"pk": {"S": stream_id}, "sk": {"N": str(expected_version)}},
                        "ConditionExpression": "attribute_exists(pk)",
                    }
                }
            )
        items = [self._event_item(stream_id, event, publish, expires_at) for event in stored]
        for item in items:
            actions.append(
                {
                    "Put": {
                        "TableName": self._table,
                        "Item": item,
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                }
            )
        try:
            await self._db.transact_write_items(TransactItems=actions)
        except ClientError as exc:
            raise _translate_append(exc, stream_id, expected_version) from exc
        except BotoCoreError as exc:
            raise _translate(exc, stream_id) from exc
        if publish:
            self._announce(stream_id, stored, items)
        return stored

    def _event_item(
        self, stream_id: str, event: Envelope, publish: bool, expires_at: datetime | None
    ) -> Item:
        version = event.sequence or 0
        item: Item = {
            "pk": {"S": stream_id},
            "sk": {"N": str(version)},
            "event_id": {"S": event.id},
            "type": {"S": event.type},
            "time": {"S": event.time.isoformat()},
            "envelope": {"S": event.to_json()},
        }
        if version == 1:
            item["stream_category"] = {"S": stream_category(stream_id)}
        if publish:
            item["outbox_status"] = {"S": OUTBOX_PENDING}
            item["outbox_order"] = {"S": f"{event.time.isoformat()}#{stream_id}#{version:012d}"}
        if expires_at is not None:
            item[TTL_ATTRIBUTE] = {"N": _epoch(expires_at)}
        return item

    async def read(self, stream_id: str, *, from_version: int = 1) -> list[Envelope]:
        items = self._query(
            {
                "TableName": self._table,
                "KeyConditionExpression": "pk = :pk AND sk >= :from",
                "FilterExpression": _NOT_EXPIRED,
                "ExpressionAttributeValues": {
                    ":pk": {"S": stream_id},
                    ":from": {"N": str(max(from_version, 1))},
                    ":now": self._now(),
                },
                "ConsistentRead": True,
            },
            stream_id,
        )
        return [Envelope.from_json(item["envelope"]["S"]) async for item in items]

    async def current_version(self, stream_id: str) -> int:
        with _translated(stream_id):
            response = await self._db.query(
                TableName=self._table,
                KeyConditionExpression="pk = :pk",
                ExpressionAttributeValues={":pk": {"S": stream_id}},
                ProjectionExpression="sk",
                ScanIndexForward=False,
                Limit=1,
                ConsistentRead=True,
            )
        items = response.get("Items", [])
        return int(items[0]["sk"]["N"]) if items else 0

    async def list_streams(self, prefix: str) -> list[str]:
        items = self._query(
            {
                "TableName": self._table,
                "IndexName": STREAMS_INDEX,
                "KeyConditionExpression": (
                    "stream_category = :category AND begins_with(pk, :prefix)"
                ),
                "ExpressionAttributeValues": {
                    ":category": {"S": stream_category(prefix)},
                    ":prefix": {"S": prefix},
                },
            },
            None,
        )
        keys = [(item["pk"]["S"], item["sk"]["N"]) async for item in items]
        if not keys:
            return []
        visible = await self._visible_first_events(keys)
        return sorted(visible)

    async def _visible_first_events(self, keys: list[tuple[str, str]]) -> set[str]:
        # The index is keys-only; expiry lives on the base item, checked in batches.
        visible: set[str] = set()
        now = self._clock().timestamp()
        for start in range(0, len(keys), 100):
            request: Mapping[str, KeysAndAttributesUnionTypeDef] = {
                self._table: {
                    "Keys": [
                        {"pk": {"S": pk}, "sk": {"N": sk}} for pk, sk in keys[start : start + 100]
                    ],
                    "ProjectionExpression": f"pk, {TTL_ATTRIBUTE}",
                }
            }
            while request:
                with _translated(None):
                    response = await self._db.batch_get_item(RequestItems=request)
                for item in response.get("Responses", {}).get(self._table, []):
                    expiry = item.get(TTL_ATTRIBUTE)
                    if expiry is None or float(expiry["N"]) > now:
                        visible.add(item["pk"]["S"])
                request = response.get("UnprocessedKeys") or {}
        return visible

    async def save_snapshot(self, snapshot: Snapshot) -> None:
        with _translated(snapshot.stream_id):
            await self._db.put_item(
                TableName=self._table,
                Item={
                    "pk": {"S": SNAPSHOT_PREFIX + snapshot.stream_id},
                    "sk": {"N": str(snapshot.version)},
                    "state": {"S": json.dumps(snapshot.state, separators=(",", ":"))},
                    "taken_at": {"S": snapshot.taken_at.isoformat()},
                },
            )

    async def load_snapshot(self, stream_id: str) -> Snapshot | None:
        with _translated(stream_id):
            response = await self._db.query(
                TableName=self._table,
                KeyConditionExpression="pk = :pk",
                ExpressionAttributeValues={":pk": {"S": SNAPSHOT_PREFIX + stream_id}},
                ScanIndexForward=False,
                Limit=1,
                ConsistentRead=True,
            )
        items = response.get("Items", [])
        if not items:
            return None
        item = items[0]
        return Snapshot(
            stream_id=stream_id,
            version=int(item["sk"]["N"]),
            state=json.loads(item["state"]["S"]),
            taken_at=datetime.fromisoformat(item["taken_at"]["S"]),
        )

    async def pending_publication(self, limit: int) -> list[OutboxEntry]:
        with _translated(None):
            response = await self._db.query(
                TableName=self._table,
                IndexName=OUTBOX_INDEX,
                KeyConditionExpression="outbox_status = :pending",
                ExpressionAttributeValues={":pending": {"S": OUTBOX_PENDING}},
                Limit=limit,
            )
        return [
            OutboxEntry(
                stream_id=item["pk"]["S"],
                version=int(item["sk"]["N"]),
                envelope=Envelope.from_json(item["envelope"]["S"]),
                record=item,
            )
            for item in response.get("Items", [])
        ]

    async def mark_published(self, entries: Sequence[OutboxEntry]) -> None:
        """Clear the markers with the events written again without them, 25 a request
        (BatchWriteItem cannot remove attributes; events never change once written, so
        the copy is the event as stored). An entry that does not carry its record is
        cleared on its own."""
        rewrites = {
            (entry.stream_id, entry.version): _without_marker(entry.record)
            for entry in entries
            if entry.record is not None
        }
        await asyncio.gather(
            *(self._clear_marker(entry) for entry in entries if entry.record is None)
        )
        await write_all(
            self._db,
            self._table,
            [{"PutRequest": {"Item": item}} for item in rewrites.values()],
            what="outbox markers",
        )

    async def _clear_marker(self, entry: OutboxEntry) -> None:
        with _translated(entry.stream_id):
            await self._db.update_item(
                TableName=self._table,
                Key={"pk": {"S": entry.stream_id}, "sk": {"N": str(entry.version)}},
                UpdateExpression="REMOVE outbox_status, outbox_order",
            )

    async def _query(self, query: QueryInputTypeDef, stream_id: str | None) -> AsyncIterator[Item]:
        while True:
            with _translated(stream_id):
                response = await self._db.query(**query)
            for item in response.get("Items", []):
                yield item
            last_key = response.get("LastEvaluatedKey")
            if not last_key:
                return
            query["ExclusiveStartKey"] = last_key


def _without_marker(record: Mapping[str, Any]) -> Item:
    return {name: value for name, value in record.items() if name not in _OUTBOX_ATTRIBUTES}


@contextmanager
def _translated(stream_id: str | None) -> Iterator[None]:
    """Turn what botocore raises inside the block into this library's errors."""
    try:
        yield
    except (ClientError, BotoCoreError) as exc:
        raise _translate(exc, stream_id) from exc


def _translate(exc: ClientError | BotoCoreError, stream_id: str | None) -> EventsError:
    if isinstance(exc, BotoCoreError):
        # Connection and read timeouts, endpoint errors: the store is out of reach.
        return StoreUnavailableError(f"{type(exc).__name__}: {exc}")
    code = error_code(exc)
    if code in _UNAVAILABLE_CODES:
        return StoreUnavailableError(f"{code}: {exc}")
    return EventStoreError(stream_id, code, str(exc))


def _translate_append(exc: ClientError, stream_id: str, expected_version: int) -> EventsError:
    """A cancelled append is a lost race unless its reasons say otherwise."""
    code = error_code(exc)
    if code == "TransactionConflictException":
        return ConcurrencyError(stream_id, expected_version)
    if code != "TransactionCanceledException":
        return _translate(exc, stream_id)
    reasons = set(cancellation_codes(exc)) - {"None", ""}
    if not reasons or reasons & _CONFLICT_REASONS:
        return ConcurrencyError(stream_id, expected_version)
    if reasons <= _UNAVAILABLE_REASONS:
        return StoreUnavailableError(f"{code} ({', '.join(sorted(reasons))}): {exc}")
    return EventStoreError(stream_id, f"{code}[{','.join(sorted(reasons))}]", str(exc))
