"""Quotes as event streams on the service table: append on change, nothing when unchanged,
and a projection rebuilt from the store equal to the live one."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from marketscope_events import CATALOG, DynamoDBEventStore
from marketscope_events.replay import rebuild_projection
from marketscope_market_data.quotes import QuoteProjection, QuoteRecorder, stream_id
from marketscope_market_data.schemas import Quote

from .fakes import unique_symbol

pytestmark = pytest.mark.integration


def quote(symbol: str, price: float) -> Quote:
    return Quote(
        symbol=symbol,
        price=price,
        previous_close=price - 2,
        as_of=datetime(2012, 3, 1, 21, tzinfo=UTC),
        source="replay",
    )


async def test_changes_are_appended_and_unchanged_prices_are_not(aws, provisioned):
    store = DynamoDBEventStore(await aws.client("dynamodb"), "marketscope-market-data")
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


async def test_a_second_instance_catches_up_before_deciding(aws, provisioned):
    store = DynamoDBEventStore(await aws.client("dynamodb"), "marketscope-market-data")
    symbol = unique_symbol()
    one, two = QuoteRecorder(store, QuoteProjection()), QuoteRecorder(store, QuoteProjection())
    await one.record(quote(symbol, 20.0))
    assert await two.record(quote(symbol, 20.0)) is None  # it read the stream first
    appended = await two.record(quote(symbol, 21.0))
    assert appended is not None
    assert appended.sequence == 2


async def test_projection_rebuilds_from_the_store(aws, provisioned):
    store = DynamoDBEventStore(await aws.client("dynamodb"), "marketscope-market-data")
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
