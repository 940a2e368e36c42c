"""The tiered cache against the emulator's table: single flight, tiers, expiry, staleness
(the table's own expiry of items is in test_store.py)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from marketscope_market_data.cache import TieredCache
from marketscope_market_data.errors import ProviderUnavailable
from marketscope_market_data.schemas import Quote
from marketscope_market_data.store import CacheItemStore
from marketscope_platform.aws import AwsClients
from marketscope_servicekit import MetricsRecorder

from .fakes import FakeProvider, unique_symbol

pytestmark = pytest.mark.integration
TABLE = "marketscope-market-data"


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 1, 5, 15, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


async def make_cache(aws: AwsClients, clock: Clock) -> tuple[TieredCache, MetricsRecorder]:
    metrics = MetricsRecorder("market-data")
    table = CacheItemStore(await aws.client("dynamodb"), TABLE, clock)
    return TieredCache(table, metrics, max_items=100, stale_keep_seconds=3600, clock=clock), metrics


async def test_100_concurrent_cold_requests_make_one_provider_call(aws, provisioned):
    clock = Clock()
    cache, metrics = await make_cache(aws, clock)
    symbol = unique_symbol()
    provider = FakeProvider(prices={symbol: 10.0})
    provider.delay = 0.05

    results = await asyncio.gather(
        *(
            cache.get_or_fetch(f"quote:{symbol}", Quote, 300, lambda: provider.quote(symbol))
            for _ in range(100)
        )
    )

    assert provider.calls == [("quote", symbol)]
    assert {r.value.price for r in results} == {10.0}
    assert cache.stats.misses == 1
    assert metrics.percentiles("CacheHitRate", unit="Percent", dimensions={"Kind": "quote"})


async def test_second_process_reads_the_table_tier_and_expiry_refetches(aws, provisioned):
    clock = Clock()
    symbol = unique_symbol()
    provider = FakeProvider(prices={symbol: 10.0})
    first, _ = await make_cache(aws, clock)
    second, _ = await make_cache(aws, clock)
    fetch = lambda: provider.quote(symbol)  # noqa: E731

    await first.get_or_fetch(f"quote:{symbol}", Quote, 300, fetch)
    from_table = await second.get_or_fetch(f"quote:{symbol}", Quote, 300, fetch)
    from_memory = await second.get_or_fetch(f"quote:{symbol}", Quote, 300, fetch)
    clock.now += timedelta(seconds=301)
    provider.prices[symbol] = 11.0
    refetched = await second.get_or_fetch(f"quote:{symbol}", Quote, 300, fetch)

    assert (from_table.tier, from_memory.tier, refetched.tier) == ("table", "memory", "provider")
    assert refetched.value.price == 11.0
    assert len(provider.calls) == 2


async def test_provider_down_serves_stale_then_503_once_expired(aws, provisioned):
    clock = Clock()
    cache, _ = await make_cache(aws, clock)
    symbol = unique_symbol()
    provider = FakeProvider(prices={symbol: 5.0})
    fetch = lambda: provider.quote(symbol)  # noqa: E731
    await cache.get_or_fetch(f"quote:{symbol}", Quote, 60, fetch)
    provider.down = True
    clock.now += timedelta(seconds=120)

    stale = await cache.get_or_fetch(f"quote:{symbol}", Quote, 60, fetch)
    assert (stale.stale, stale.value.price) == (True, 5.0)

    fresh_cache, _ = await make_cache(aws, clock)  # no in-process memory of it
    clock.now += timedelta(seconds=3600)
    with pytest.raises(ProviderUnavailable):
        await fresh_cache.get_or_fetch(f"quote:{symbol}", Quote, 60, fetch)
