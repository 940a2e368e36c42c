"""The live push handlers: each event to the channel it belongs on, owned events to their
owner's sockets only, encoded once and counted."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from decimal import Decimal

from marketscope_events import CATALOG, DecodedEvent, EventData
from marketscope_events.catalog import AnalysisProgressed, DocumentIndexed, QuoteUpdated
from marketscope_gateway.handlers import CHANNELS, LivePush
from marketscope_gateway.live.hub import Connection, Hub
from marketscope_servicekit import MetricsRecorder

RECEIVED_AT = datetime(2013, 6, 3, 20, 0, 5, tzinfo=UTC)


def decoded(data: EventData) -> DecodedEvent[EventData]:
    return DecodedEvent(CATALOG.new_event(data), data)


def quote(symbol: str) -> QuoteUpdated:
    return QuoteUpdated(
        symbol=symbol,
        price=Decimal("187.25"),
        previous_price=None,
        change=None,
        change_percent=None,
        as_of=datetime.now(UTC),
        provider="replay",
    )


def indexed(owner: str) -> DocumentIndexed:
    return DocumentIndexed(
        document_id=uuid.uuid4().hex,
        owner=owner,
        version_id=None,
        chunk_count=1,
        embedding_model="minilm",
        duration_ms=5,
        indexed_at=datetime.now(UTC),
    )


def progressed(owner: str) -> AnalysisProgressed:
    return AnalysisProgressed(
        analysis_id=uuid.uuid4().hex,
        owner=owner,
        stage="computing",
        percent=40,
        message="Risk against ^GSPC",
        at=datetime.now(UTC),
    )


def connected(hub: Hub, user_id: str, *channels: str) -> Connection:
    connection = Connection(user_id, 10)
    hub.add(connection)
    for channel in channels:
        hub.subscribe(connection, channel)
    return connection


def frames(connection: Connection) -> list[dict[str, object]]:
    return [json.loads(connection.outbox.get_nowait()) for _ in range(connection.outbox.qsize())]


async def test_a_quote_reaches_only_its_symbols_subscribers() -> None:
    hub, metrics = Hub(), MetricsRecorder("gateway")
    aapl, msft = connected(hub, "alice", "quotes:AAPL"), connected(hub, "bob", "quotes:MSFT")
    event = decoded(quote("AAPL"))
    await LivePush(hub, metrics, clock=lambda: RECEIVED_AT).handle(event)
    [frame] = frames(aapl)
    assert frame["type"] == "event"
    assert frame["channel"] == "quotes:AAPL"
    assert frame["event"] == "QuoteUpdated"
    assert frame["event_id"] == event.envelope.id
    assert frame["received_at"] == "2013-06-03T20:00:05Z"
    assert frames(msft) == []


async def test_an_owned_event_reaches_its_owners_sockets_only() -> None:
    hub = Hub()
    laptop, phone = connected(hub, "alice", "documents"), connected(hub, "alice", "documents")
    stranger = connected(hub, "bob", "documents")
    await LivePush(hub, MetricsRecorder("gateway")).handle(decoded(indexed("alice")))
    assert len(frames(laptop)) == len(frames(phone)) == 1
    assert frames(stranger) == []


async def test_analysis_progress_reaches_its_owners_analyses_sockets_only() -> None:
    hub = Hub()
    watching = connected(hub, "alice", "analyses")
    elsewhere = connected(hub, "alice", "documents")
    stranger = connected(hub, "bob", "analyses")
    event = decoded(progressed("alice"))
    await LivePush(hub, MetricsRecorder("gateway")).handle(event)
    [frame] = frames(watching)
    assert frame["channel"] == "analyses"
    assert frame["event"] == "AnalysisProgressed"
    assert frame["event_type"] == "marketscope.chat.AnalysisProgressed.v1"
    assert frame["data"] == event.envelope.data
    assert frames(elsewhere) == frames(stranger) == []


async def test_fan_out_is_counted_per_event() -> None:
    hub, metrics = Hub(), MetricsRecorder("gateway")
    for user in ("alice", "bob", "carol"):
        connected(hub, user, "quotes:AAPL")
    await LivePush(hub, metrics).handle(decoded(quote("AAPL")))
    delivered = metrics.percentiles(
        "WebSocketMessages", unit="Count", dimensions={"Event": "QuoteUpdated"}
    )
    assert delivered["p50"] == 3
    fan_out = metrics.percentiles(
        "WebSocketFanoutTime", unit="Milliseconds", dimensions={"Event": "QuoteUpdated"}
    )
    assert fan_out["p50"] >= 0


def test_every_pushed_event_is_one_the_gateway_consumes() -> None:
    consumed = {spec.name for spec in CATALOG.subscriptions_of("gateway")}
    assert set(CHANNELS) <= consumed
