"""The chat table (``marketscope-chat``): conversation streams and what is read beside them.

Items besides the event store's own (``Conversation#<id>`` streams, outbox):

- ``Conversations#<owner>`` / ``sk`` = the conversation's start in microseconds: one item
  per live conversation (title, counts, last activity, expiry), so a user's list is one
  query, newest first. Written after every append of the conversation; removed when it
  is deleted.
- ``Usage#<owner>`` / ``sk`` = the UTC day as ``YYYYMMDD``: tokens, calls and cost of that
  day, in all and per model, added to atomically after every model call. A month is a
  range query.

A conversation expires ``conversation_ttl_days`` after it began: every one of its items
carries that same ``expires_at``, so a stream never loses its first events before its
last. DynamoDB deletes expired items late (the emulator never does): every read here
ignores them.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from marketscope_chat.conversations.state import ConversationState, fold, stream_id
from marketscope_chat.errors import ConversationConflict, InvalidCursor, StorageUnavailable
from marketscope_events import (
    CATALOG,
    ConcurrencyError,
    DynamoDBEventStore,
    Envelope,
    EventsError,
    EventStore,
    StreamRepository,
)
from marketscope_events.aws_errors import error_code

if TYPE_CHECKING:
    from types_aiobotocore_dynamodb import DynamoDBClient
    from types_aiobotocore_dynamodb.type_defs import AttributeValueTypeDef, QueryInputTypeDef

USAGE_RETENTION_SECONDS = 400 * 86400


def open_event_store(dynamodb: DynamoDBClient, table_name: str) -> DynamoDBEventStore:
    """The event store on the chat table; opening it makes no AWS call."""
    return DynamoDBEventStore(dynamodb, table_name)


@contextmanager
def _storage_errors() -> Iterator[None]:
    try:
        yield
    except (ClientError, BotoCoreError, EventsError) as exc:
        raise StorageUnavailable(str(exc), dependency="dynamodb") from exc


def _micros(moment: datetime) -> str:
    return str(int(moment.timestamp() * 1_000_000))


def _epoch(moment: datetime) -> str:
    return str(int(moment.timestamp()))


@dataclass(frozen=True, slots=True)
class ConversationSummary:
    id: str
    title: str
    created_at: datetime
    updated_at: datetime
    message_count: int
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class ConversationPage:
    items: list[ConversationSummary]
    next_cursor: str | None


def _summary(item: dict[str, AttributeValueTypeDef]) -> ConversationSummary:
    return ConversationSummary(
        id=item["conversation_id"]["S"],
        title=item["title"]["S"],
        created_at=datetime.fromtimestamp(int(item["sk"]["N"]) / 1_000_000, UTC),
        updated_at=datetime.fromisoformat(item["updated_at"]["S"]),
        message_count=int(item["message_count"]["N"]),
        expires_at=datetime.fromtimestamp(int(item["expires_at"]["N"]), UTC),
    )


class ConversationRepository:
    def __init__(self, store: EventStore, dynamodb: DynamoDBClient, table_name: str) -> None:
        self._streams = StreamRepository[ConversationState](store, fold, catalog=CATALOG)
        self._db = dynamodb
        self._table = table_name

    async def load(self, conversation_id: str) -> tuple[ConversationState, int] | None:
        """The folded state and its version, or None (never started or expired)."""
        with _storage_errors():
            loaded = await self._streams.load(stream_id(conversation_id))
        return None if loaded is None else (loaded.state, loaded.version)

    async def append(
        self,
        state: ConversationState | None,
        conversation_id: str,
        events: Sequence[Envelope],
        *,
        expected_version: int,
        expires_at: datetime,
    ) -> ConversationState:
        """Append at ``expected_version`` (`ConversationConflict` when another turn got
        there first), then bring the owner's list item up to date."""
        try:
            with _storage_errors():
                stored = await self._streams.append(
                    stream_id(conversation_id),
                    events,
                    expected_version=expected_version,
                    publish=False,  # chat's conversation events stay in its stream
                    expires_at=expires_at,
                )
        except ConcurrencyError as exc:
            raise ConversationConflict(
                "Another message of this conversation is being answered.",
                conversation_id=conversation_id,
            ) from exc
        for envelope in stored:
            state = fold(state, CATALOG.decode(envelope))
        assert state is not None
        await self._write_view(state, expires_at, version=expected_version + len(stored))
        return state

    async def _write_view(
        self, state: ConversationState, expires_at: datetime, version: int
    ) -> None:
        key = {"pk": {"S": f"Conversations#{state.owner}"}, "sk": {"N": _micros(state.created_at)}}
        with _storage_errors():
            if state.deleted:
                await self._db.delete_item(TableName=self._table, Key=key)
                return
            try:
                await self._db.put_item(
                    TableName=self._table,
                    Item={
                        **key,
                        "conversation_id": {"S": state.id},
                        "title": {"S": state.display_title},
                        "updated_at": {"S": state.updated_at.isoformat()},
                        "message_count": {"N": str(state.message_count)},
                        "stream_version": {"N": str(version)},
                        "expires_at": {"N": _epoch(expires_at)},
                    },
                    # A newer view written meanwhile wins.
                    ConditionExpression="attribute_not_exists(pk) OR stream_version < :v",
                    ExpressionAttributeValues={":v": {"N": str(version)}},
                )
            except ClientError as exc:
                if error_code(exc) != "ConditionalCheckFailedException":
                    raise

    async def list_owned(self, owner: str, *, limit: int, cursor: str | None) -> ConversationPage:
        """The owner's live conversations, newest first, ``limit`` a page."""
        request: QueryInputTypeDef = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk",
            "FilterExpression": "attribute_not_exists(expires_at) OR expires_at > :now",
            "ExpressionAttributeValues": {
                ":pk": {"S": f"Conversations#{owner}"},
                ":now": {"N": str(int(time.time()))},
            },
            "ScanIndexForward": False,
            "Limit": limit,
        }
        if cursor:
            request["ExclusiveStartKey"] = _decode_cursor(cursor, owner)
        items: list[ConversationSummary] = []
        last_key: dict[str, AttributeValueTypeDef] | None = None
        # A filtered page may come back short: read on until it is full or the end.
        while len(items) < limit:
            with _storage_errors():
                response = await self._db.query(**request)
            for item in response.get("Items", []):
                if len(items) < limit:
                    items.append(_summary(item))
                    last_key = {"pk": item["pk"], "sk": item["sk"]}
            if "LastEvaluatedKey" not in response:
                last_key = None if len(items) < limit else last_key
                break
            request["ExclusiveStartKey"] = response["LastEvaluatedKey"]
        return ConversationPage(items, None if last_key is None else _encode_cursor(last_key))


def _encode_cursor(key: dict[str, AttributeValueTypeDef]) -> str:
    return base64.urlsafe_b64encode(json.dumps({"sk": key["sk"]["N"]}).encode()).decode()


def _decode_cursor(cursor: str, owner: str) -> dict[str, AttributeValueTypeDef]:
    try:
        sk = json.loads(base64.urlsafe_b64decode(cursor.encode()))["sk"]
        int(sk)
    except (ValueError, KeyError, TypeError) as exc:
        raise InvalidCursor("The cursor is not one this service gave out.") from exc
    # The cursor names a position only; the owner always comes from the identity.
    return {"pk": {"S": f"Conversations#{owner}"}, "sk": {"N": str(sk)}}


@dataclass(frozen=True, slots=True)
class ModelUsage:
    model: str
    prompt_tokens: int
    completion_tokens: int
    calls: int
    cost_usd: float

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


@dataclass(frozen=True, slots=True)
class UsageTotals:
    tokens: int
    cost_usd: float
    calls: int
    by_model: list[ModelUsage]


def _day_key(day: date) -> int:
    return int(day.strftime("%Y%m%d"))


class UsageLedger:
    """Per user and UTC day: tokens, calls and cost, added atomically."""

    def __init__(self, dynamodb: DynamoDBClient, table_name: str) -> None:
        self._db = dynamodb
        self._table = table_name

    async def charge(
        self,
        owner: str,
        day: date,
        *,
        model: str,
        prompt_tokens: int,
        completion_tokens: int,
        cost_usd: float,
    ) -> None:
        cost = str(Decimal(str(round(cost_usd, 8))))
        names = {
            "#p": f"m#{model}#prompt",
            "#c": f"m#{model}#completion",
            "#k": f"m#{model}#cost",
            "#n": f"m#{model}#calls",
        }
        with _storage_errors():
            await self._db.update_item(
                TableName=self._table,
                Key={"pk": {"S": f"Usage#{owner}"}, "sk": {"N": str(_day_key(day))}},
                UpdateExpression=(
                    "ADD tokens :t, cost_usd :cost, calls :one, #p :p, #c :c, #k :cost, #n :one "
                    "SET expires_at = if_not_exists(expires_at, :exp)"
                ),
                ExpressionAttributeNames=names,
                ExpressionAttributeValues={
                    ":t": {"N": str(prompt_tokens + completion_tokens)},
                    ":p": {"N": str(prompt_tokens)},
                    ":c": {"N": str(completion_tokens)},
                    ":cost": {"N": cost},
                    ":one": {"N": "1"},
                    ":exp": {"N": str(int(time.time()) + USAGE_RETENTION_SECONDS)},
                },
            )

    async def totals(self, owner: str, first: date, last: date) -> UsageTotals:
        """Usage of the days from ``first`` to ``last``, both included."""
        request: QueryInputTypeDef = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk AND sk BETWEEN :a AND :b",
            "ExpressionAttributeValues": {
                ":pk": {"S": f"Usage#{owner}"},
                ":a": {"N": str(_day_key(first))},
                ":b": {"N": str(_day_key(last))},
            },
            "ConsistentRead": True,
        }
        tokens = calls = 0
        cost = Decimal(0)
        models: dict[str, dict[str, Decimal]] = {}
        while True:
            with _storage_errors():
                response = await self._db.query(**request)
            for item in response.get("Items", []):
                tokens += int(item.get("tokens", {"N": "0"})["N"])
                calls += int(item.get("calls", {"N": "0"})["N"])
                cost += Decimal(item.get("cost_usd", {"N": "0"})["N"])
                for name, value in item.items():
                    if name.startswith("m#") and "N" in value:
                        model, _, field = name[2:].rpartition("#")
                        row = models.setdefault(model, {})
                        row[field] = row.get(field, Decimal(0)) + Decimal(value["N"])
            if "LastEvaluatedKey" not in response:
                break
            request["ExclusiveStartKey"] = response["LastEvaluatedKey"]
        by_model = [
            ModelUsage(
                model=model,
                prompt_tokens=int(row.get("prompt", 0)),
                completion_tokens=int(row.get("completion", 0)),
                calls=int(row.get("calls", 0)),
                cost_usd=float(row.get("cost", 0)),
            )
            for model, row in sorted(models.items())
        ]
        return UsageTotals(tokens=tokens, cost_usd=float(cost), calls=calls, by_model=by_model)
