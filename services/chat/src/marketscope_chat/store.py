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

import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from marketscope_chat.conversations.state import ConversationState, fold, stream_id
from marketscope_chat.errors import ConversationConflict, StorageUnavailable
from marketscope_events import (
    CATALOG,
    ConcurrencyError,
    DynamoDBEventStore,
    Envelope,
    EventsError,
    EventStore,
    StreamRepository,
)
from marketscope_servicekit.owned_index import (
    Item,
    OwnedIndex,
    created_at_of,
    expires_at_of,
)

if TYPE_CHECKING:
    from types_aiobotocore_dynamodb import DynamoDBClient
    from types_aiobotocore_dynamodb.type_defs import QueryInputTypeDef

USAGE_RETENTION_SECONDS = 400 * 86400


def open_event_store(dynamodb: DynamoDBClient, table_name: str) -> DynamoDBEventStore:
    """The event store on the chat table; opening it makes no AWS call."""
    return DynamoDBEventStore(dynamodb, table_name)


@contextmanager
def storage_errors() -> Iterator[None]:
    """The table not answering as `StorageUnavailable`; a `ConcurrencyError` (another
    writer got there first) is the caller's to decide on and passes through."""
    try:
        yield
    except ConcurrencyError:
        raise
    except (ClientError, BotoCoreError, EventsError) as exc:
        raise StorageUnavailable(str(exc), dependency="dynamodb") from exc


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


def _summary(item: Item) -> ConversationSummary:
    return ConversationSummary(
        id=item["conversation_id"]["S"],
        title=item["title"]["S"],
        created_at=created_at_of(item),
        updated_at=datetime.fromisoformat(item["updated_at"]["S"]),
        message_count=int(item["message_count"]["N"]),
        expires_at=expires_at_of(item),
    )


class ConversationRepository:
    def __init__(self, store: EventStore, dynamodb: DynamoDBClient, table_name: str) -> None:
        self._streams = StreamRepository[ConversationState](store, fold, catalog=CATALOG)
        self._index = OwnedIndex(dynamodb, table_name, "Conversations")

    async def load(self, conversation_id: str) -> tuple[ConversationState, int] | None:
        """The folded state and its version, or None (never started or expired)."""
        with storage_errors():
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
            with storage_errors():
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
        if state.deleted:
            await self._index.delete(state.owner, state.created_at)
        else:
            await self._index.put(
                state.owner,
                state.created_at,
                {
                    "conversation_id": {"S": state.id},
                    "title": {"S": state.display_title},
                    "updated_at": {"S": state.updated_at.isoformat()},
                    "message_count": {"N": str(state.message_count)},
                },
                version=expected_version + len(stored),
                expires_at=expires_at,
            )
        return state

    async def list_owned(self, owner: str, *, limit: int, cursor: str | None) -> ConversationPage:
        """The owner's live conversations, newest first, ``limit`` a page."""
        page = await self._index.page(owner, limit=limit, cursor=cursor)
        return ConversationPage([_summary(item) for item in page.items], page.next_cursor)


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
        with storage_errors():
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
            with storage_errors():
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
