"""Provider failure paths with fake fetchers: timeout, retries, breaker open, half-open
recovery, yfinance's odd failure modes, the fallback chain, and the symbol directory
that checks watchlist symbols against the chain and remembers the answers."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from datetime import date
from typing import Any

import pandas as pd
import pytest

from marketscope_market_data.errors import ProviderUnavailable, SymbolNotFound
from marketscope_market_data.providers import DateSpan, ProviderChain
from marketscope_market_data.providers.directory import SymbolDirectory
from marketscope_market_data.providers.resilience import ProviderGuard
from marketscope_market_data.providers.yfinance import YFinanceProvider
from marketscope_servicekit import MetricsRecorder

from .fakes import FakeProvider


def frame(closes: list[float]) -> pd.DataFrame:
    index = pd.DatetimeIndex(
        pd.bdate_range("2024-01-01", periods=len(closes), tz="America/New_York")
    )
    return pd.DataFrame(
        {
            "Open": closes,
            "High": closes,
            "Low": closes,
            "Close": closes,
            "Adj Close": closes,
            "Volume": [100] * len(closes),
        },
        index=index,
    )


class FakeYahoo:
    def __init__(self) -> None:
        self.behaviour: list[Any] = []
        self.calls = 0
        self.release = threading.Event()

    def _next(self) -> Any:
        self.calls += 1
        action = self.behaviour.pop(0) if len(self.behaviour) > 1 else self.behaviour[0]
        if isinstance(action, str) and action == "stall":
            self.release.wait(5)
            return frame([1.0])
        if isinstance(action, BaseException):
            raise action
        return action

    def history(self, symbol: str, start: date, end: date, interval: str) -> pd.DataFrame:
        return self._next()

    def info(self, symbol: str) -> dict[str, Any] | None:
        return self._next()


async def no_sleep(_: float) -> None:
    return None


def provider(fake: FakeYahoo, **guard: Any) -> YFinanceProvider:
    options: dict[str, Any] = {
        "timeout": 0.2,
        "retries": 2,
        "breaker_threshold": 3,
        "breaker_reset_seconds": 0.3,
        "sleep": no_sleep,
    }
    return YFinanceProvider(ProviderGuard("yfinance", **{**options, **guard}), fake)


async def test_quote_from_a_frame():
    fake = FakeYahoo()
    fake.behaviour = [frame([10.0, 10.5])]
    quote = await provider(fake).quote("AAPL")
    assert (quote.price, quote.previous_close, quote.source) == (10.5, 10.0, "yfinance")


async def test_empty_frame_and_none_info_are_unknown_symbols():
    fake = FakeYahoo()
    fake.behaviour = [pd.DataFrame()]
    with pytest.raises(SymbolNotFound):
        await provider(fake).quote("NOPE")
    fake.behaviour = [None]
    with pytest.raises(SymbolNotFound):
        await provider(fake).profile("NOPE")


async def test_dns_errors_are_retried_then_unavailable():
    fake = FakeYahoo()
    fake.behaviour = [socket.gaierror(-2, "Name or service not known")]
    with pytest.raises(ProviderUnavailable):
        await provider(fake, breaker_threshold=10).quote("AAPL")
    assert fake.calls == 3  # one call and two retries


async def test_a_transient_error_then_success_answers():
    fake = FakeYahoo()
    fake.behaviour = [ConnectionError("reset"), frame([3.0, 4.0])]
    assert (await provider(fake).quote("AAPL")).price == 4.0


async def test_a_stalled_call_times_out_without_blocking_the_loop():
    fake = FakeYahoo()
    fake.behaviour = ["stall"]
    guarded = provider(fake, retries=0, breaker_threshold=10)
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    background = asyncio.create_task(ticker())
    started = time.perf_counter()
    with pytest.raises(ProviderUnavailable, match="no answer within"):
        await guarded.quote("AAPL")
    elapsed = time.perf_counter() - started
    background.cancel()
    fake.release.set()
    assert elapsed < 1.0
    assert ticks >= 5  # the loop kept running while the thread stalled


async def test_breaker_opens_after_repeated_failures_and_half_open_recovers():
    fake = FakeYahoo()
    fake.behaviour = [OSError("network down")]
    guarded = provider(fake, retries=0)
    guard = guarded._guard
    for _ in range(3):
        with pytest.raises(ProviderUnavailable):
            await guarded.quote("AAPL")
    assert await guard.breaker_state() == "opened"

    calls = fake.calls
    with pytest.raises(ProviderUnavailable, match="circuit breaker is open"):
        await guarded.quote("AAPL")
    assert fake.calls == calls  # the open breaker did not touch the provider

    await asyncio.sleep(0.35)  # past the reset time: the next call is a half-open probe
    fake.behaviour = [frame([1.0, 2.0])]
    assert (await guarded.quote("AAPL")).price == 2.0
    assert await guard.breaker_state() == "closed"


async def test_half_open_probe_failure_reopens():
    fake = FakeYahoo()
    fake.behaviour = [OSError("down")]
    guarded = provider(fake, retries=0)
    for _ in range(3):
        with pytest.raises(ProviderUnavailable):
            await guarded.quote("AAPL")
    await asyncio.sleep(0.35)
    with pytest.raises(ProviderUnavailable):
        await guarded.quote("AAPL")
    assert await guarded._guard.breaker_state() == "opened"


async def test_unknown_symbols_do_not_open_the_breaker():
    fake = FakeYahoo()
    fake.behaviour = [pd.DataFrame()]
    guarded = provider(fake, retries=0)
    for _ in range(5):
        with pytest.raises(SymbolNotFound):
            await guarded.quote("NOPE")
    assert await guarded._guard.breaker_state() == "closed"


async def test_chain_falls_back_and_names_the_provider():
    first, second = FakeProvider("first"), FakeProvider("second")
    first.down = True
    metrics = MetricsRecorder("market-data")
    chain = ProviderChain([first, second], metrics)
    quote = await chain.quote("AAPL")
    assert quote.source == "second"
    assert metrics.percentiles(
        "ProviderLatency",
        unit="Milliseconds",
        dimensions={"Provider": "first", "Operation": "quote", "Outcome": "unavailable"},
    )
    history = await chain.history("AAPL", DateSpan(period="1mo"), "1d")
    assert history.source == "second"


async def test_chain_503_when_all_down_404_when_all_unknown():
    first, second = FakeProvider("first"), FakeProvider("second")
    chain = ProviderChain([first, second], MetricsRecorder("market-data"))
    with pytest.raises(SymbolNotFound):
        await chain.quote("NOPE")
    first.down = second.down = True
    with pytest.raises(ProviderUnavailable) as raised:
        await chain.quote("AAPL")
    assert raised.value.headers["Retry-After"] == "7"


async def test_an_unknown_symbol_names_the_symbols_there_are_when_they_are_a_closed_list():
    replays = [
        FakeProvider("replay", {"AAPL": 1.0, "MSFT": 2.0}, listed=True),
        FakeProvider("archive", {"IBM": 3.0}, listed=True),
    ]
    closed = ProviderChain(replays, MetricsRecorder("market-data"))
    with pytest.raises(SymbolNotFound) as raised:
        await closed.history("NVDA", DateSpan(period="1mo"), "1d")
    assert raised.value.status == 404
    assert raised.value.detail == (
        "No market data is known for 'NVDA'; the market data here covers only AAPL, IBM, MSFT."
    )
    assert raised.value.extensions["known_symbols"] == ["AAPL", "IBM", "MSFT"]

    # A provider that can look up symbols it never listed (a live feed): no list to offer.
    live = FakeProvider("live", {"TSLA": 4.0})
    opened = ProviderChain([live, *replays], MetricsRecorder("market-data"))
    assert opened.listed_symbols() is None
    with pytest.raises(SymbolNotFound) as raised:
        await opened.quote("NVDA")
    assert raised.value.detail == "No market data is known for 'NVDA'."
    assert "known_symbols" not in raised.value.extensions


class FakeTimer:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def test_the_directory_asks_once_and_remembers_known_and_unknown_symbols():
    provider = FakeProvider(prices={"AAPL": 1.0, "MSFT": 2.0})
    timer = FakeTimer()
    directory = SymbolDirectory(
        ProviderChain([provider], MetricsRecorder("market-data")),
        known_seconds=100,
        unknown_seconds=10,
        timer=timer,
    )
    assert await directory.unknown(["AAPL", "NOPE", "MSFT"]) == ["NOPE"]
    assert await directory.unknown(["NOPE", "AAPL"]) == ["NOPE"]
    assert len(provider.calls) == 3

    timer.now = 11  # the unknown answer has expired, the known ones have not
    provider.prices["NOPE"] = 3.0  # listed since
    assert await directory.unknown(["NOPE", "AAPL", "MSFT"]) == []
    assert len(provider.calls) == 4


async def test_the_directory_remembers_nothing_a_provider_could_not_tell():
    provider = FakeProvider(prices={"AAPL": 1.0})
    directory = SymbolDirectory(ProviderChain([provider], MetricsRecorder("market-data")))
    provider.down = True
    with pytest.raises(ProviderUnavailable, match="cannot check AAPL now") as raised:
        await directory.unknown(["AAPL"])
    assert raised.value.headers["Retry-After"] == "7"
    provider.down = False
    assert await directory.unknown(["AAPL"]) == []


async def test_the_chain_knows_a_symbol_a_later_provider_has_while_the_first_is_down():
    first, second = FakeProvider("first"), FakeProvider("second", prices={"IBM": 1.0})
    first.down = True
    chain = ProviderChain([first, second], MetricsRecorder("market-data"))
    assert await chain.knows("IBM")
    with pytest.raises(ProviderUnavailable):
        await chain.knows("NOPE")  # the provider that is down might know it
    first.down = False
    assert not await chain.knows("NOPE")


async def test_yfinance_knows_a_symbol_by_its_chart_and_cannot_tell_while_offline():
    fake = FakeYahoo()
    fake.behaviour = [frame([1.0, 2.0])]
    assert await provider(fake).knows("AAPL")
    fake.behaviour = [pd.DataFrame()]
    assert not await provider(fake).knows("NOPE")
    fake.behaviour = [socket.gaierror(-2, "Name or service not known")]
    with pytest.raises(ProviderUnavailable):
        await provider(fake, breaker_threshold=10).knows("AAPL")
