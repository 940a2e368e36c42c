"""The replay provider over its real data: the clock stops at the end of the data and never
runs backwards, quotes past a symbol's data hold its last close marked stale, recording
them publishes no move, and history outside the data says which side it missed."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from marketscope_events import CATALOG, InMemoryEventStore
from marketscope_market_data.errors import HistoryOutOfRange, SymbolNotFound
from marketscope_market_data.providers import DateSpan, ProviderChain
from marketscope_market_data.providers.replay import ReplayClock, ReplayProvider, load_dataset
from marketscope_market_data.store import QuoteProjection, QuoteRecorder, stream_id
from marketscope_servicekit import MetricsRecorder

LAST_DAY = date(2013, 3, 1)
# AAPL's closes on the last three trading days of the data.
AAPL_CLOSES = {date(2013, 2, 27): 444.57, date(2013, 2, 28): 441.40, LAST_DAY: 430.47}


@pytest.fixture(scope="module")
def dataset() -> dict[str, pd.DataFrame]:
    return load_dataset()


def replay(dataset: dict[str, pd.DataFrame], start: date) -> ReplayProvider:
    days = sorted({day.date() for day in dataset["AAPL"].index})
    return ReplayProvider(dataset, ReplayClock(days, start))


def test_the_clock_stops_at_its_last_day_and_never_runs_backwards():
    days = [date(2013, 2, 27), date(2013, 2, 28), LAST_DAY]
    clock = ReplayClock(days, date(2013, 2, 28))

    assert (clock.advance(), clock.ended) == (LAST_DAY, False)
    assert (clock.advance(), clock.ended) == (LAST_DAY, True)
    assert clock.advance(500) == LAST_DAY
    assert ReplayClock(days, date(2014, 1, 1)).ended
    with pytest.raises(ValueError, match="never runs backwards"):
        clock.advance(-1)


async def test_past_the_end_quotes_hold_the_last_close_marked_stale(dataset):
    provider = replay(dataset, date(2013, 2, 27))
    seen = []
    for _ in range(5):
        quote = await provider.quote("AAPL")
        seen.append((quote.as_of.date(), quote.price, quote.stale))
        provider.clock.advance()

    assert seen == [
        (date(2013, 2, 27), 444.57, False),
        (date(2013, 2, 28), 441.40, False),
        (LAST_DAY, 430.47, False),
        (LAST_DAY, 430.47, True),
        (LAST_DAY, 430.47, True),
    ]


async def test_driving_the_clock_past_the_end_records_no_move(dataset):
    provider = replay(dataset, date(2013, 2, 27))
    store = InMemoryEventStore()
    recorder = QuoteRecorder(store, QuoteProjection())
    for _ in range(10):
        await recorder.record(await provider.quote("AAPL"))
        provider.clock.advance()

    events = [CATALOG.decode(envelope).data for envelope in await store.read(stream_id("AAPL"))]
    assert [(event.as_of.date(), float(event.price)) for event in events] == sorted(
        AAPL_CLOSES.items()
    )
    assert all(abs(float(event.change_percent or 0)) < 5 for event in events)


async def test_a_symbol_whose_data_ended_holds_its_last_close_stale(dataset):
    ended = {**dataset, "GOOG": dataset["GOOG"].loc[:"2013-02-15"]}
    provider = replay(ended, date(2013, 2, 28))

    goog, aapl = await provider.quote("GOOG"), await provider.quote("AAPL")

    assert goog.as_of.date() == date(2013, 2, 15)
    assert goog.price == pytest.approx(float(dataset["GOOG"].loc["2013-02-15", "close"]))
    assert goog.stale is True
    assert aapl.stale is False


async def test_a_symbol_before_its_first_trading_day_has_no_quote(dataset):
    provider = replay(dataset, date(2012, 3, 1))
    with pytest.raises(SymbolNotFound, match="its data begins 2012-05-18"):
        await provider.quote("FB")
    assert await provider.knows("FB")
    assert not await provider.knows("NOPE")


async def test_history_before_the_data_begins_says_so(dataset):
    provider = replay(dataset, date(2012, 3, 1))
    with pytest.raises(HistoryOutOfRange) as raised:
        await provider.history("AAPL", date(1990, 1, 1), date(1995, 1, 1), "1d")
    assert raised.value.extensions["position"] == "before-data"
    assert raised.value.extensions["data_begins"] == "2000-03-01"
    assert "ends before AAPL's data begins on 2000-03-01" in str(raised.value)


async def test_history_after_a_symbols_data_ends_says_so(dataset):
    ended = {**dataset, "GOOG": dataset["GOOG"].loc[:"2013-02-15"]}
    provider = replay(ended, LAST_DAY)
    with pytest.raises(HistoryOutOfRange) as raised:
        await provider.history("GOOG", date(2013, 2, 20), LAST_DAY, "1d")
    assert raised.value.extensions["position"] == "after-data"
    assert raised.value.extensions["data_ends"] == "2013-02-15"


async def test_history_starting_after_the_replays_day_says_so(dataset):
    chain = ProviderChain([replay(dataset, date(2012, 3, 1))], MetricsRecorder("market-data"))
    with pytest.raises(HistoryOutOfRange) as raised:
        await chain.history("AAPL", DateSpan(start=date(2014, 1, 1)), "1d")
    assert raised.value.extensions["position"] == "after-data"
    assert raised.value.extensions["data_ends"] == "2012-03-01"
    assert raised.value.status == 404


async def test_a_range_between_trading_days_inside_the_data_is_empty_not_an_error(dataset):
    provider = replay(dataset, date(2012, 3, 1))
    weekend = await provider.history("AAPL", date(2012, 2, 25), date(2012, 2, 26), "1d")
    assert weekend.bars == []


async def test_a_quote_stops_being_current_when_the_clock_moves_on(dataset):
    provider = replay(dataset, date(2013, 2, 28))
    quote = await provider.quote("AAPL")
    assert provider.is_current(quote)
    provider.clock.advance()
    last = await provider.quote("AAPL")
    assert not provider.is_current(quote)
    assert provider.is_current(last)
    provider.clock.advance()  # past the end: the last close is now stale
    assert not provider.is_current(last)
    assert provider.is_current(await provider.quote("AAPL"))
