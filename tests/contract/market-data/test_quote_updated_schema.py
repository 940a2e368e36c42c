"""Every QuoteUpdated market-data appends (and so publishes) validates against the
committed JSON Schema of its type in libs/events/schemas."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jsonschema
import pytest

from marketscope_events import InMemoryEventStore
from marketscope_market_data.providers.replay import ReplayProvider
from marketscope_market_data.store import QuoteProjection, QuoteRecorder, stream_id

SCHEMAS = Path(__file__).resolve().parents[3] / "libs" / "events" / "schemas"


def schema(name: str) -> dict[str, object]:
    return json.loads((SCHEMAS / f"{name}.json").read_text())


@pytest.mark.parametrize("symbol", ["AAPL", "GOOG", "IBM", "MSFT"])
async def test_replayed_quote_updates_validate(symbol: str):
    replay = ReplayProvider.from_package_data(datetime(2012, 1, 3, tzinfo=UTC).date())
    store = InMemoryEventStore()
    recorder = QuoteRecorder(store, QuoteProjection())
    for _ in range(15):
        await recorder.record(await replay.quote(symbol))
        replay.clock.advance()
    events = await store.read(stream_id(symbol))
    assert len(events) >= 10
    envelope_schema = schema("envelope")
    for event in events:
        wire = json.loads(event.to_json())
        jsonschema.validate(wire, envelope_schema)
        jsonschema.validate(wire["data"], schema(wire["type"]))
        assert wire["type"] == "marketscope.market-data.QuoteUpdated.v2"
        assert datetime.fromisoformat(wire["data"]["as_of"]) < datetime(2013, 3, 2, tzinfo=UTC)
    assert timedelta(0) < events[-1].time - events[0].time or len(events) > 1
