"""The service's own table: the quote streams (``Quote#<SYMBOL>``), cache items
(``Cache#<key>``) and watchlists (``Watchlist#<owner>``), the last two at ``sk = 0``.

``expires_at`` (epoch seconds) is the table's TTL attribute. DynamoDB deletes expired
items late (the emulator never does), so every read here ignores them itself.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from marketscope_events import (
    CATALOG,
    DecodedEvent,
    Envelope,
    EventStore,
    Loaded,
    StreamRepository,
)
from marketscope_events.aws_errors import error_code
from marketscope_events.catalog import QuoteUpdated
from marketscope_events.store.table import STREAMS_INDEX
from marketscope_events.timeutil import Clock, utc_now
from marketscope_market_data.errors import StoreUnavailable
from marketscope_market_data.schemas import Quote, Watchlist

if TYPE_CHECKING:
    from types_aiobotocore_dynamodb import DynamoDBClient
    from types_aiobotocore_dynamodb.type_defs import AttributeValueTypeDef, QueryInputTypeDef

STREAM_PREFIX = "Quote#"
CACHE_PREFIX = "Cache#"
WATCHLIST_PREFIX = "Watchlist#"
WATCHLIST_CATEGORY = "Watchlist"  # in the table's sparse category index, `streams`
BATCH_GET_LIMIT = 100
BATCH_GET_ATTEMPTS = 5
# The event catalog's symbol pattern: indices such as ^GSPC are quoted but not streamed.
_EVENT_SYMBOL = re.compile(r"^[A-Z0-9][A-Z0-9.\-^=]{0,14}$")
_APPEND_ATTEMPTS = 3


# ---------------------------------------------------------------------- quote streams


def stream_id(symbol: str) -> str:
    return STREAM_PREFIX + symbol


@dataclass(frozen=True)
class QuoteState:
    """A quote stream's state: its latest QuoteUpdated and the version it is at."""

    version: int
    quote: QuoteUpdated


def fold_quote(state: QuoteState | None, event: DecodedEvent[Any]) -> QuoteState:
    """The latest QuoteUpdated wins (the catalog has upcast older versions already)."""
    if isinstance(event.data, QuoteUpdated):
        return QuoteState(event.envelope.sequence or 0, event.data)
    if state is None:
        raise ValueError(f"a quote stream starts with {event.envelope.type}, not QuoteUpdated")
    return state


def _decimal(value: float) -> Decimal:
    # Via str: the provider's printed price, not the binary float's expansion.
    return Decimal(str(value))


def quote_updated(quote: Quote, current: QuoteUpdated | None) -> QuoteUpdated | None:
    """The QuoteUpdated an observation makes: None when the price is the stream's last,
    or when the observation is older than the stream's last quote (a provider further
    behind in a fallback chain, a replay started again at an earlier day): a move back
    to an old price is not a move the market made."""
    price = _decimal(quote.price)
    if current is not None and (current.price == price or quote.as_of < current.as_of):
        return None
    if current is not None:
        previous: Decimal | None = current.price
    elif quote.previous_close is not None:
        previous = _decimal(quote.previous_close)
    else:
        previous = None
    change = None if previous is None else price - previous
    percent = (
        None
        if previous is None or change is None or previous == 0
        else (change / previous * 100).quantize(Decimal("0.0001"))
    )
    return QuoteUpdated(
        symbol=quote.symbol,
        price=price,
        currency=quote.currency,
        previous_price=previous,
        change=change,
        change_percent=percent,
        as_of=quote.as_of,
        provider=quote.source,
    )


class QuoteProjection:
    """The current quote of each symbol and the stream version it is at, as this
    instance last saw it; rebuildable from the store with ``marketscope_events.replay``."""

    def __init__(self) -> None:
        self._current: dict[str, QuoteState] = {}

    def reset(self) -> None:
        self._current.clear()

    async def apply(self, event: DecodedEvent[Any]) -> None:
        if isinstance(event.data, QuoteUpdated):
            self.remember(fold_quote(None, event))

    def remember(self, state: QuoteState) -> None:
        known = self._current.get(state.quote.symbol)
        if known is None or state.version > known.version:
            self._current[state.quote.symbol] = state

    def known(self, symbol: str) -> QuoteState | None:
        return self._current.get(symbol)

    def current(self, symbol: str) -> QuoteUpdated | None:
        known = self._current.get(symbol)
        return None if known is None else known.quote

    def version(self, symbol: str) -> int:
        known = self._current.get(symbol)
        return 0 if known is None else known.version


class QuoteRecorder:
    """Appends a QuoteUpdated to ``Quote#<SYMBOL>`` when a symbol's price differs from its
    stream's last one; the append hands it to the outbox relay. Another instance's
    append in between makes it decide again on the fresh stream."""

    def __init__(self, store: EventStore, projection: QuoteProjection) -> None:
        self._streams = StreamRepository[QuoteState](store, fold_quote)
        self.projection = projection

    async def record(self, quote: Quote) -> Envelope | None:
        """The appended event, or None when the price is unchanged (or not streamable)."""
        if not _EVENT_SYMBOL.match(quote.symbol):
            return None
        stream = stream_id(quote.symbol)

        def decide(state: QuoteState | None, _version: int) -> list[Envelope]:
            data = quote_updated(quote, None if state is None else state.quote)
            return [] if data is None else [CATALOG.new_event(data, subject=stream)]

        known = self.projection.known(quote.symbol)
        state, stored = await self._streams.update(
            stream,
            decide,
            attempts=_APPEND_ATTEMPTS,
            known=None if known is None else Loaded(known, known.version),
        )
        if state is not None:
            self.projection.remember(state)
        return stored[0] if stored else None


# ---------------------------------------------------------------------- cache and watchlists


@dataclass(frozen=True)
class CacheItem:
    value: str
    fresh_until: float
    expires_at: float


class _Table:
    def __init__(self, dynamodb: DynamoDBClient, table_name: str, clock: Clock) -> None:
        self._db = dynamodb
        self._table = table_name
        self._clock = clock

    @contextmanager
    def _translated(self, operation: str) -> Iterator[None]:
        # Every failure of this table is "storage unavailable" to the caller: the cache
        # answers from the provider without it, a watchlist request is a 503.
        try:
            yield
        except ClientError as exc:
            raise StoreUnavailable(
                f"{operation} on {self._table} failed: {error_code(exc) or exc}",
                dependency=self._table,
            ) from exc
        except BotoCoreError as exc:
            raise StoreUnavailable(
                f"{operation} on {self._table} failed: {exc}", dependency=self._table
            ) from exc

    @staticmethod
    def _key(pk: str) -> dict[str, AttributeValueTypeDef]:
        return {"pk": {"S": pk}, "sk": {"N": "0"}}


class CacheItemStore(_Table):
    async def get(self, key: str) -> CacheItem | None:
        with self._translated("get_item"):
            response = await self._db.get_item(
                TableName=self._table, Key=self._key(CACHE_PREFIX + key)
            )
        item = response.get("Item")
        if item is None:
            return None
        expires_at = float(item["expires_at"]["N"])
        if expires_at <= self._clock().timestamp():
            return None
        return CacheItem(item["value"]["S"], float(item["fresh_until"]["N"]), expires_at)

    async def put(self, key: str, item: CacheItem) -> None:
        with self._translated("put_item"):
            await self._db.put_item(
                TableName=self._table,
                Item={
                    **self._key(CACHE_PREFIX + key),
                    "value": {"S": item.value},
                    "fresh_until": {"N": f"{item.fresh_until:.3f}"},
                    "expires_at": {"N": str(int(item.expires_at))},
                },
            )


class WatchlistRepository(_Table):
    """One item per owner; no TTL (a watchlist lives until replaced)."""

    def __init__(
        self, dynamodb: DynamoDBClient, table_name: str, *, clock: Clock = utc_now
    ) -> None:
        super().__init__(dynamodb, table_name, clock)

    async def get(self, owner: str) -> Watchlist | None:
        with self._translated("get_item"):
            response = await self._db.get_item(
                TableName=self._table, Key=self._key(WATCHLIST_PREFIX + owner), ConsistentRead=True
            )
        item = response.get("Item")
        if item is None:
            return None
        return Watchlist(
            owner=owner,
            symbols=json.loads(item["symbols"]["S"]),
            updated_at=datetime.fromisoformat(item["updated_at"]["S"]),
        )

    async def put(self, owner: str, symbols: list[str]) -> Watchlist:
        updated_at = self._clock()
        watchlist = Watchlist(owner=owner, symbols=symbols, updated_at=updated_at)
        with self._translated("put_item"):
            await self._db.put_item(
                TableName=self._table,
                Item={
                    **self._key(WATCHLIST_PREFIX + owner),
                    "stream_category": {"S": WATCHLIST_CATEGORY},
                    "symbols": {"S": json.dumps(symbols)},
                    "updated_at": {"S": updated_at.isoformat()},
                },
            )
        return watchlist

    async def watched_symbols(self) -> set[str]:
        """Every symbol on any watchlist, paid once per refresh: the watchlists' keys from
        the table's sparse category index (each watchlist item is in category
        ``Watchlist``), then their symbols in batches of 100. A scan read the whole
        table for them, the quote cache's histories included."""
        keys: list[dict[str, Any]] = []
        request: QueryInputTypeDef = {
            "TableName": self._table,
            "IndexName": STREAMS_INDEX,
            "KeyConditionExpression": "stream_category = :category",
            "ExpressionAttributeValues": {":category": {"S": WATCHLIST_CATEGORY}},
        }
        while True:
            with self._translated("query"):
                response = await self._db.query(**request)
            keys.extend({"pk": i["pk"], "sk": i["sk"]} for i in response.get("Items", []))
            last = response.get("LastEvaluatedKey")
            if not last:
                break
            request["ExclusiveStartKey"] = last
        symbols: set[str] = set()
        for start in range(0, len(keys), BATCH_GET_LIMIT):
            for item in await self._batch_get(keys[start : start + BATCH_GET_LIMIT]):
                symbols.update(json.loads(item["symbols"]["S"]))
        return symbols

    async def _batch_get(self, keys: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The items of ``keys`` (at most 100), asking again for what DynamoDB left
        unprocessed (it may, under throttling)."""
        found: list[dict[str, Any]] = []
        wanted: dict[str, Any] = {
            self._table: {"Keys": keys, "ProjectionExpression": "symbols", "ConsistentRead": True}
        }
        for attempt in range(BATCH_GET_ATTEMPTS):
            with self._translated("batch_get_item"):
                response = await self._db.batch_get_item(RequestItems=wanted)
            found.extend(response.get("Responses", {}).get(self._table, []))
            wanted = response.get("UnprocessedKeys") or {}
            if not wanted:
                return found
            await asyncio.sleep(0.05 * 2**attempt)
        raise StoreUnavailable(
            f"batch_get_item on {self._table} left watchlists unread after "
            f"{BATCH_GET_ATTEMPTS} attempts",
            dependency=self._table,
        )
