"""The quote and history cache: a bounded in-process TTL cache, then cache items on the
service's DynamoDB table, then the provider; concurrent misses of one key share a single
flight, so 100 requests for a cold symbol cost one provider call.

Each entry is fresh for its TTL and then kept (``stale_keep_seconds``) for one purpose:
when the provider fails, a stale copy answers with ``stale: true`` instead of a 503. A
caller may also say when a value is no longer current whatever its TTL (a replayed quote
once the replay clock has moved on): such an entry is fetched again, and kept as the
stale copy.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from typing import Generic, TypeVar

from cachetools import LRUCache, TLRUCache
from pydantic import BaseModel

from marketscope_events.timeutil import Clock, utc_now
from marketscope_market_data.errors import ProviderUnavailable, StoreUnavailable
from marketscope_market_data.store import CacheItem, CacheItemStore
from marketscope_servicekit import MetricsRecorder

M = TypeVar("M", bound=BaseModel)
logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Cached(Generic[M]):
    value: M
    stale: bool
    tier: str  # "memory", "table", "provider", or the tier a stale copy came from


@dataclass
class CacheStats:
    memory_hits: int = 0
    table_hits: int = 0
    misses: int = 0
    stale: int = 0

    @property
    def hit_rate(self) -> float:
        total = self.memory_hits + self.table_hits + self.misses
        return (self.memory_hits + self.table_hits) / total if total else 0.0


class TieredCache:
    def __init__(
        self,
        table: CacheItemStore,
        metrics: MetricsRecorder,
        *,
        max_items: int,
        stale_keep_seconds: int,
        clock: Clock = utc_now,
    ) -> None:
        self._table = table
        self._metrics = metrics
        self._stale_keep = stale_keep_seconds
        self._clock = clock
        self._memory: TLRUCache[str, tuple[BaseModel, float]] = TLRUCache(
            maxsize=max_items, ttu=lambda _key, entry, _now: entry[1], timer=self._now
        )
        # The last value of each key past its freshness, for stale answers when both the
        # provider and the table fail.
        self._last_known: LRUCache[str, BaseModel] = LRUCache(maxsize=max_items)
        self._flights: dict[str, asyncio.Task[Cached[BaseModel]]] = {}
        self.stats = CacheStats()

    def _now(self) -> float:
        return self._clock().timestamp()

    def forget(self, key: str) -> None:
        """Drop ``key``'s fresh and stale copies from memory (the table's item expires on
        its own): a key no request will ask for again, such as yesterday's history."""
        self._memory.pop(key, None)
        self._last_known.pop(key, None)

    async def get_or_fetch(
        self,
        key: str,
        model: type[M],
        fresh_seconds: int,
        fetch: Callable[[], Awaitable[M]],
        *,
        current: Callable[[M], bool] = lambda _value: True,
    ) -> Cached[M]:
        entry = self._memory.get(key)
        if entry is not None and current(value := _as(model, entry[0])):
            self._count("memory", key)
            return Cached(value, stale=False, tier="memory")
        flight = self._flights.get(key)
        if flight is None:
            # The load is its own task: a leader whose client goes away cancels only its
            # own wait, never the flight the other requests share.
            flight = asyncio.create_task(self._load(key, model, fresh_seconds, fetch, current))
            self._flights[key] = flight
            flight.add_done_callback(partial(self._landed, key))
        result = await asyncio.shield(flight)
        return Cached(_as(model, result.value), result.stale, result.tier)

    def _landed(self, key: str, flight: asyncio.Task[Cached[BaseModel]]) -> None:
        if self._flights.get(key) is flight:
            del self._flights[key]
        if not flight.cancelled():
            flight.exception()  # retrieved here too, in case every waiter went away

    async def _load(
        self,
        key: str,
        model: type[M],
        fresh_seconds: int,
        fetch: Callable[[], Awaitable[M]],
        current: Callable[[M], bool],
    ) -> Cached[BaseModel]:
        item = await self._table_get(key)
        now = self._now()
        if item is not None and item.fresh_until > now:
            value = model.model_validate_json(item.value)
            if current(value):
                self._remember(key, value, item.fresh_until)
                self._count("table", key)
                return Cached(value, stale=False, tier="table")
        self._count("miss", key)
        try:
            fresh = await fetch()
        except ProviderUnavailable:
            stale = self._stale_copy(key, model, item)
            if stale is None:
                raise
            self.stats.stale += 1
            return stale
        await self.put(key, fresh, fresh_seconds)
        return Cached(fresh, stale=False, tier="provider")

    async def put(self, key: str, value: BaseModel, fresh_seconds: int) -> None:
        """Store a fresh value in both tiers (the refresh writes through here)."""
        fresh_until = self._now() + fresh_seconds
        self._remember(key, value, fresh_until)
        item = CacheItem(value.model_dump_json(), fresh_until, fresh_until + self._stale_keep)
        try:
            await self._table.put(key, item)
        except StoreUnavailable:
            logger.warning("cache table write failed", extra={"key": key}, exc_info=True)

    def _remember(self, key: str, value: BaseModel, fresh_until: float) -> None:
        if fresh_until > self._now():
            self._memory[key] = (value, fresh_until)
        self._last_known[key] = value

    def _stale_copy(
        self, key: str, model: type[M], item: CacheItem | None
    ) -> Cached[BaseModel] | None:
        if item is not None:
            return Cached(model.model_validate_json(item.value), stale=True, tier="table")
        known = self._last_known.get(key)
        return None if known is None else Cached(known, stale=True, tier="memory")

    async def _table_get(self, key: str) -> CacheItem | None:
        try:
            return await self._table.get(key)
        except StoreUnavailable:
            # The table is an optimisation here: a failing one costs a provider call.
            logger.warning("cache table read failed", extra={"key": key}, exc_info=True)
            return None

    def _count(self, tier: str, key: str) -> None:
        kind = key.split(":", 1)[0]
        if tier == "memory":
            self.stats.memory_hits += 1
        elif tier == "table":
            self.stats.table_hits += 1
        else:
            self.stats.misses += 1
        self._metrics.record(
            "CacheHitRate",
            0.0 if tier == "miss" else 100.0,
            unit="Percent",
            dimensions={"Kind": kind},
        )


def _as(model: type[M], value: BaseModel) -> M:
    if not isinstance(value, model):
        raise TypeError(f"cached value is a {type(value).__name__}, not a {model.__name__}")
    return value
