"""MarketDataService over the emulator's table with fake providers: the refresh asks the
providers (never the cache) and writes through it, quotes are recorded only on change,
a stream that cannot be written still answers, and batches are bounded."""

from __future__ import annotations

import pytest

from marketscope_events.timeutil import utc_now
from marketscope_market_data.cache import TieredCache
from marketscope_market_data.components import Components, build_components
from marketscope_market_data.providers import DateSpan, MarketDataProvider, ProviderChain
from marketscope_market_data.service import CachePolicy, MarketDataService
from marketscope_market_data.store import (
    CacheItemStore,
    QuoteProjection,
    QuoteRecorder,
    WatchlistRepository,
    stream_id,
)
from marketscope_platform.aws import AwsClients
from marketscope_servicekit import InvalidRequest, MetricsRecorder

from .conftest import quiet_settings
from .fakes import FakeProvider, UnwritableEventStore, unique, unique_symbol

pytestmark = pytest.mark.integration
TABLE = "marketscope-market-data"


async def components(
    aws: AwsClients, providers: list[MarketDataProvider], **settings: object
) -> Components:
    return await build_components(
        quiet_settings(**settings), aws, MetricsRecorder("market-data"), providers=providers
    )


async def test_refresh_asks_the_providers_and_writes_through_the_cache(aws, provisioned):
    symbol, unknown = unique_symbol(), unique_symbol()
    provider = FakeProvider(prices={symbol: 10.0})
    service = (await components(aws, [provider])).service
    assert (await service.quote(symbol)).price == 10.0
    provider.prices[symbol] = 11.0

    summary = await service.refresh([symbol, unknown])

    assert (summary.symbols, summary.refreshed, summary.changed) == (2, 1, 1)
    assert (summary.failed, summary.unknown) == ([], [unknown])
    assert provider.calls.count(("quote", symbol)) == 2  # the cached 10.0 was not asked
    assert (await service.quote(symbol)).price == 11.0
    assert provider.calls.count(("quote", symbol)) == 2  # answered by what the refresh wrote


async def test_an_unchanged_price_is_not_a_change(aws, provisioned):
    symbol = unique_symbol()
    built = await components(aws, [FakeProvider(prices={symbol: 5.0})])

    first = await built.service.refresh([symbol])
    second = await built.service.refresh([symbol])

    assert (first.changed, second.changed) == (1, 0)
    assert await built.store.current_version(stream_id(symbol)) == 1


async def test_the_quote_json_is_rendered_once_per_cached_value(aws, provisioned):
    symbol = unique_symbol()
    service = (await components(aws, [FakeProvider(prices={symbol: 3.0})])).service
    assert await service.quote_json(symbol) is await service.quote_json(symbol)


async def test_a_stream_that_cannot_be_written_still_answers_the_quote(aws, provisioned):
    symbol = unique_symbol()
    metrics = MetricsRecorder("market-data")
    dynamodb = await aws.client("dynamodb")
    service = MarketDataService(
        ProviderChain([FakeProvider(prices={symbol: 8.0})], metrics),
        TieredCache(
            CacheItemStore(dynamodb, TABLE, utc_now),
            metrics,
            max_items=10,
            stale_keep_seconds=60,
        ),
        QuoteRecorder(UnwritableEventStore(), QuoteProjection()),
        WatchlistRepository(dynamodb, TABLE),
        CachePolicy(quote_seconds=300, history_seconds=300),
        benchmark="^GSPC",
        risk_free_rate=0.0,
        default_watchlist=[],
    )
    assert (await service.quote(symbol)).price == 8.0


async def test_refresh_targets_join_the_default_and_every_watchlist(aws, provisioned):
    symbol = unique_symbol()
    provider = FakeProvider(prices={symbol: 1.0})
    service = (await components(aws, [provider], default_watchlist=["AAPL"])).service
    await service.save_watchlist(unique("owner"), [symbol, symbol])

    targets = await service.refresh_targets()

    assert {"AAPL", symbol} <= set(targets)
    assert targets == sorted(set(targets))


async def test_batches_are_bounded(aws, provisioned):
    service = (await components(aws, [FakeProvider()])).service
    with pytest.raises(InvalidRequest):
        await service.quotes([f"S{i}" for i in range(51)])
    with pytest.raises(InvalidRequest):
        await service.risk([], None, DateSpan(period="1y"))


async def test_reports_of_the_same_bars_are_computed_once(aws, provisioned, monkeypatch):
    import marketscope_market_data.service as service_module

    computed: list[tuple[str, ...]] = []
    real = service_module.indicator_report

    def counting(history, names):
        computed.append(tuple(names))
        return real(history, names)

    monkeypatch.setattr(service_module, "indicator_report", counting)
    symbol = unique_symbol()
    service = (await components(aws, [FakeProvider(prices={symbol: 7.0})])).service
    first = await service.indicators(symbol, ["sma", "rsi"])
    again = await service.indicators(symbol, ["sma", "rsi"])
    other = await service.indicators(symbol, ["atr"])
    assert again == first
    assert other != first
    assert computed == [("sma", "rsi"), ("atr",)]
