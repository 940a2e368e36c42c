from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from marketscope_events import CATALOG, UnknownEventTypeError
from marketscope_events.catalog import AnalysisRequested, QuoteUpdatedV1
from marketscope_events.errors import InvalidEventDataError
from marketscope_platform.topology import SERVICES

from ..helpers import quote_event

V1_EVENTS = {
    "QuoteUpdated",
    "DocumentUploaded",
    "DocumentIndexed",
    "DocumentDeleted",
    "AnalysisRequested",
    "AnalysisProgressed",
    "AnalysisCompleted",
    "AnalysisFailed",
    "AlertTriggered",
    "NotificationCreated",
}


def test_catalog_has_every_v1_event_with_producer_topic_and_subscribers() -> None:
    assert {spec.name for spec in CATALOG} == V1_EVENTS
    for spec in CATALOG:
        assert 1 in spec.models
        assert spec.producer in SERVICES
        assert spec.subscribers <= set(SERVICES)
        assert spec.topic.startswith("marketscope-")
    assert CATALOG.spec("QuoteUpdated").topic == "marketscope-quote-updated"
    assert CATALOG.spec("NotificationCreated").topic == "marketscope-notification-created"


def test_subscriptions_follow_the_design() -> None:
    gateway = {spec.name for spec in CATALOG.subscriptions_of("gateway")}
    pushed = {"QuoteUpdated", "AnalysisCompleted", "NotificationCreated", "DocumentIndexed"}
    assert pushed <= gateway
    assert {spec.name for spec in CATALOG.subscriptions_of("rag")} == {"DocumentUploaded"}
    notifier = {spec.name for spec in CATALOG.subscriptions_of("notifier")}
    assert {"QuoteUpdated", "AnalysisCompleted", "DocumentIndexed"} <= notifier
    assert {spec.name for spec in CATALOG.produced_by("market-data")} == {"QuoteUpdated"}


def test_new_event_fills_the_envelope_from_the_catalog() -> None:
    event = quote_event(event_id="fixed-id")
    assert event.type == "marketscope.market-data.QuoteUpdated.v2"
    assert event.source == "/marketscope/market-data"
    assert event.dataschema == "urn:marketscope:schema:marketscope.market-data.QuoteUpdated.v2"
    assert event.id == "fixed-id"
    assert event.data["price"] == "187.25"  # Decimal travels as a string, never a float
    assert event.data["as_of"] == "2013-03-01T21:00:00Z"


def test_decode_validates_data() -> None:
    event = quote_event()
    broken = event.model_copy(update={"data": {**event.data, "price": "-1"}})
    with pytest.raises(InvalidEventDataError, match="price"):
        CATALOG.decode(broken)


def test_unknown_types_are_a_library_error() -> None:
    event = quote_event()
    for bad_type in (
        "marketscope.market-data.Nonsense.v1",
        "marketscope.rag.QuoteUpdated.v2",  # right name, wrong producer
        "marketscope.market-data.QuoteUpdated.v7",
    ):
        version = int(bad_type.rsplit("v", 1)[1])
        with pytest.raises(UnknownEventTypeError):
            CATALOG.decode(event.model_copy(update={"type": bad_type, "dataversion": version}))


def test_payloads_refuse_naive_times_and_unknown_fields() -> None:
    with pytest.raises(ValueError, match="timezone"):
        AnalysisRequested(
            analysis_id="a1",
            owner="u1",
            kind="stock",
            symbols=["AAPL"],
            requested_at=datetime(2024, 1, 1),
        )
    with pytest.raises(ValueError, match="Extra inputs"):
        QuoteUpdatedV1.model_validate(
            {"symbol": "AAPL", "price": "1", "as_of": datetime.now(UTC), "source": "x", "bid": 1}
        )
    assert QuoteUpdatedV1(
        symbol="BRK.B", price=Decimal("0.1"), as_of=datetime.now(UTC), source="replay"
    ).price == Decimal("0.1")
