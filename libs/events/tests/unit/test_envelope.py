from __future__ import annotations

import json

import pytest

from marketscope_events import Envelope, EventType, MalformedEnvelopeError

from ..helpers import quote_event


def test_round_trip_keeps_every_attribute() -> None:
    event = quote_event(traceparent="00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
    event = event.with_sequence(4)
    parsed = Envelope.from_json(event.to_json())
    assert parsed == event
    document = json.loads(event.to_json())
    assert document["specversion"] == "1.0"
    assert document["sequence"] == 4
    assert document["dataversion"] == 2
    assert document["time"].endswith("Z")
    assert document["traceparent"].startswith("00-0af7")


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        ("{not json", "not JSON"),
        ("[1, 2]", "must be a JSON object"),
        ("{}", "id: Field required"),
        (b"\xff\xfe", "not JSON"),
    ],
)
def test_malformed_input_raises_one_library_error(raw: str | bytes, fragment: str) -> None:
    with pytest.raises(MalformedEnvelopeError, match=fragment):
        Envelope.from_json(raw)


def test_bad_type_name_and_version_mismatch_are_malformed() -> None:
    good = json.loads(quote_event().to_json())
    with pytest.raises(MalformedEnvelopeError, match="type"):
        Envelope.from_document({**good, "type": "QuoteUpdated"})
    with pytest.raises(MalformedEnvelopeError, match="dataversion 1 does not match"):
        Envelope.from_document({**good, "dataversion": 1})
    with pytest.raises(MalformedEnvelopeError, match="timezone"):
        Envelope.from_document({**good, "time": "2024-01-01T00:00:00"})


def test_error_names_the_event_id_when_known() -> None:
    good = json.loads(quote_event().to_json())
    with pytest.raises(MalformedEnvelopeError) as caught:
        Envelope.from_document({**good, "specversion": "0.3"})
    assert caught.value.event_id == good["id"]


def test_unusable_traceparent_is_dropped_not_fatal() -> None:
    good = json.loads(quote_event().to_json())
    assert Envelope.from_document({**good, "traceparent": "garbage"}).traceparent is None


def test_time_is_normalised_to_utc() -> None:
    good = json.loads(quote_event().to_json())
    parsed = Envelope.from_document({**good, "time": "2024-03-01T10:00:00+02:00"})
    assert parsed.time.isoformat() == "2024-03-01T08:00:00+00:00"


def test_event_type_parses_service_name_and_version() -> None:
    parsed = EventType.parse("marketscope.market-data.QuoteUpdated.v12")
    assert (parsed.service, parsed.name, parsed.version) == ("market-data", "QuoteUpdated", 12)
    assert str(parsed) == "marketscope.market-data.QuoteUpdated.v12"
