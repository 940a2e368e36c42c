"""The service's table: quotes as event streams (append on change, nothing when
unchanged, a projection rebuilt from the store equal to the live one), cache items that
expire, and watchlists."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from marketscope_events import CATALOG, DynamoDBEventStore
from marketscope_events.replay import rebuild_projection
from marketscope_market_data.store import (
    CacheItem,
    CacheItemStore,
    QuoteProjection,
    QuoteRecorder,
    WatchlistRepository,
    quote_updated,
    stream_id,
)

from .fakes import RacedEventStore, quote, unique, unique_symbol

pytestmark = pytest.mark.integration
TABLE = "marketscope-market-data"


async def test_changes_are_appended_and_unchanged_prices_are_not(aws, provisioned):
    store = DynamoDBEventStore(await aws.client("dynamodb"), TABLE)
    handed_to_relay: list[object] = []
    store.add_append_listener(handed_to_relay.extend)
    recorder = QuoteRecorder(store, QuoteProjection())
    symbol = unique_symbol()

    first = await recorder.record(quote(symbol, 10.0))
    unchanged = await recorder.record(quote(symbol, 10.0))
    second = await recorder.record(quote(symbol, 10.5))

    assert first is not None
    assert second is not None
    assert unchanged is None
    assert [first.sequence, second.sequence] == [1, 2]
    data = CATALOG.decode(second).data
    assert (data.price, data.previous_price, data.change) == (
        Decimal("10.5"),
        Decimal("10.0"),
        Decimal("0.5"),
    )
    assert data.change_percent == Decimal("5.0000")
    assert CATALOG.decode(first).data.previous_price == Decimal("8.0")
    assert len(handed_to_relay) == 2
    assert len(await store.read(stream_id(symbol))) == 2
    assert [entry.envelope.id for entry in await store.pending_publication(100)] != []


def test_an_observation_older_than_the_streams_last_quote_is_not_a_move():
    symbol = unique_symbol()
    latest = quote_updated(quote(symbol, 430.47), None)
    assert latest is not None
    earlier = quote(symbol, 130.47).model_copy(
        update={"as_of": datetime(2000, 3, 1, 21, tzinfo=UTC)}
    )
    later = quote(symbol, 431.0).model_copy(update={"as_of": datetime(2012, 3, 2, 21, tzinfo=UTC)})

    assert quote_updated(earlier, latest) is None
    assert quote_updated(later, latest) is not None


async def test_a_second_instance_catches_up_before_deciding(aws, provisioned):
    store = DynamoDBEventStore(await aws.client("dynamodb"), TABLE)
    symbol = unique_symbol()
    one, two = QuoteRecorder(store, QuoteProjection()), QuoteRecorder(store, QuoteProjection())
    await one.record(quote(symbol, 20.0))
    assert await two.record(quote(symbol, 20.0)) is None  # it read the stream first
    appended = await two.record(quote(symbol, 21.0))
    assert appended is not None
    assert appended.sequence == 2


def competing(symbol: str, price: float):
    data = quote_updated(quote(symbol, price), None)
    return CATALOG.new_event(data, subject=stream_id(symbol))


async def test_a_conflicting_append_is_decided_again_on_the_fresh_stream():
    symbol = unique_symbol()
    same = RacedEventStore(competing(symbol, 30.0))
    other = RacedEventStore(competing(symbol, 30.0))
    projection = QuoteProjection()

    unchanged = await QuoteRecorder(same, projection).record(quote(symbol, 30.0))
    changed = await QuoteRecorder(other, QuoteProjection()).record(quote(symbol, 31.0))

    assert (same.conflicts, other.conflicts) == (1, 1)
    assert unchanged is None  # the other instance had recorded the same price
    assert (projection.version(symbol), projection.current(symbol).price) == (1, Decimal("30.0"))
    assert changed is not None
    assert changed.sequence == 2
    assert CATALOG.decode(changed).data.previous_price == Decimal("30.0")


async def test_projection_rebuilds_from_the_store(aws, provisioned):
    store = DynamoDBEventStore(await aws.client("dynamodb"), TABLE)
    symbol = unique_symbol()
    live = QuoteProjection()
    recorder = QuoteRecorder(store, live)
    for price in (11.0, 12.0, 11.5):
        await recorder.record(quote(symbol, price))

    rebuilt = QuoteProjection()
    applied = await rebuild_projection(store, rebuilt, stream_prefix=stream_id(symbol))

    assert applied == 3
    assert rebuilt.current(symbol) == live.current(symbol)
    assert rebuilt.version(symbol) == 3


async def test_expired_items_are_ignored_on_read(aws, provisioned):
    now = datetime(2026, 1, 5, 15, tzinfo=UTC)
    store = CacheItemStore(await aws.client("dynamodb"), TABLE, lambda: now)
    key = unique("quote:EXP")
    await store.put(
        key, CacheItem("{}", fresh_until=now.timestamp() - 10, expires_at=now.timestamp() - 1)
    )
    assert await store.get(key) is None


async def test_watchlists_are_saved_per_owner_and_their_symbols_watched(aws, provisioned):
    now = datetime(2026, 1, 5, 15, tzinfo=UTC)
    watchlists = WatchlistRepository(await aws.client("dynamodb"), TABLE, clock=lambda: now)
    owner, symbol = unique("owner"), unique_symbol()

    assert await watchlists.get(owner) is None
    saved = await watchlists.put(owner, [symbol, "AAPL"])

    assert saved.updated_at == now
    assert await watchlists.get(owner) == saved
    assert {symbol, "AAPL"} <= await watchlists.watched_symbols()


async def test_every_watchlist_is_watched_past_one_batch_and_no_cache_item_is_read(
    aws, provisioned
):
    """More watchlists than one BatchGetItem takes (100), next to cache items whose values
    hold no symbols: each watchlist's symbols, nothing else."""
    dynamodb = await aws.client("dynamodb")
    watchlists = WatchlistRepository(dynamodb, TABLE)
    symbols = [unique_symbol() for _ in range(120)]
    for symbol in symbols:
        await watchlists.put(unique("owner"), [symbol])
    await CacheItemStore(dynamodb, TABLE, lambda: datetime.now(UTC)).put(
        f"history:{unique_symbol()}", CacheItem('{"bars": []}', fresh_until=1e12, expires_at=2e12)
    )
    assert set(symbols) <= await watchlists.watched_symbols()
