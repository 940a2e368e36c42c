"""Replay: projections rebuilt from the store; streams re-published to one queue only."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from marketscope_events import DecodedEvent, DynamoDBEventStore, Envelope
from marketscope_events.replay import rebuild_projection, republish_to_queue, select_events
from marketscope_platform import AwsClients

from ..conftest import SubscribeFn
from ..helpers import quote_event, receive_all

pytestmark = pytest.mark.integration


class LatestPrices:
    def __init__(self) -> None:
        self.prices: dict[str, Decimal] = {}

    def reset(self) -> None:
        self.prices.clear()

    async def apply(self, event: DecodedEvent[Any]) -> None:
        self.prices[event.data.symbol] = event.data.price


async def test_projection_is_rebuilt_from_the_store(aws: AwsClients, table: str) -> None:
    store = DynamoDBEventStore(await aws.client("dynamodb"), table)
    await store.append(
        "Quote#AAPL", [quote_event(price="1"), quote_event(price="2")], expected_version=0
    )
    await store.append("Quote#MSFT", [quote_event("MSFT", price="30")], expected_version=0)
    projection = LatestPrices()
    projection.prices["STALE"] = Decimal(1)

    applied = await rebuild_projection(store, projection, stream_prefix="Quote#")

    assert applied == 3
    assert projection.prices == {"AAPL": Decimal("2"), "MSFT": Decimal("30")}


async def test_time_range_is_republished_to_one_named_queue_only(
    aws: AwsClients, table: str, subscribe: SubscribeFn
) -> None:
    chat, notifier = await subscribe("chat"), await subscribe("notifier")
    store = DynamoDBEventStore(await aws.client("dynamodb"), table)
    start = datetime(2024, 5, 1, tzinfo=UTC)
    events = [quote_event(price=str(n), time=start + timedelta(hours=n)) for n in range(1, 6)]
    await store.append("Quote#AAPL", events, expected_version=0, publish=False)

    chosen = await select_events(
        store,
        stream_prefix="Quote#",
        since=start + timedelta(hours=2),
        until=start + timedelta(hours=4),
    )
    sent = await republish_to_queue(await aws.client("sqs"), chat.queue.url, chosen)

    assert sent == 2
    sqs = await aws.client("sqs")
    received = [Envelope.from_json(m["Body"]) for m in await receive_all(sqs, chat.queue.url)]
    assert sorted(e.data["price"] for e in received) == ["2", "3"]
    assert {e.sequence for e in received} == {2, 3}
    assert await receive_all(sqs, notifier.queue.url) == []
