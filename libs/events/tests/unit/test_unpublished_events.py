"""Stream-only events: in the catalog for decoding, never given a topic or published."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import pytest
import yaml

from marketscope_events import (
    CATALOG,
    Envelope,
    InMemoryEventStore,
    OutboxRelay,
    SnsPublisher,
    TopicDirectory,
    UnpublishedEventError,
)
from marketscope_events.catalog import (
    DocumentDeleted,
    DocumentIndexingFailed,
    DocumentIndexingStarted,
    EventSpec,
)
from marketscope_events.replay import select_events
from marketscope_events.schemas.cli import generated_files

from ..helpers import quote_event

STREAM_ONLY = {"DocumentIndexingStarted", "DocumentIndexingFailed"}


def indexing_started(document_id: str = "d1") -> Envelope:
    return CATALOG.new_event(
        DocumentIndexingStarted(document_id=document_id, version_id="v1"),
        subject=f"Document#{document_id}",
    )


def test_stream_only_events_have_no_topic_and_no_subscribers() -> None:
    for name in STREAM_ONLY:
        spec = CATALOG.spec(name)
        assert (spec.producer, spec.published, spec.topic) == ("rag", False, None)
        assert spec.subscribers == frozenset()
    assert STREAM_ONLY.isdisjoint(spec.name for spec in CATALOG)
    assert {spec.name for spec in CATALOG.all_specs()} >= STREAM_ONLY
    assert {spec.name for spec in CATALOG.produced_by("rag")} >= STREAM_ONLY
    assert CATALOG.is_unpublished("marketscope.rag.DocumentIndexingFailed.v1")
    assert not CATALOG.is_unpublished("marketscope.rag.DocumentIndexed.v1")
    assert not CATALOG.is_unpublished("marketscope.rag.Nonsense.v1")


def test_an_unpublished_spec_refuses_subscribers() -> None:
    with pytest.raises(ValueError, match="nobody can subscribe"):
        EventSpec(
            name="Secret",
            producer="rag",
            subscribers=frozenset({"chat"}),
            models={1: DocumentIndexingStarted},
            description="",
            published=False,
        )


def test_new_event_and_decode_work_for_stream_only_events() -> None:
    event = indexing_started()
    assert event.type == "marketscope.rag.DocumentIndexingStarted.v1"
    assert event.source == "/marketscope/rag"
    decoded = CATALOG.decode(event)
    assert decoded.data == DocumentIndexingStarted(document_id="d1", version_id="v1")


def test_data_rag_already_stored_decodes() -> None:
    # What rag's documents.internal_event wrote before these were in the catalog.
    stored = Envelope(
        id="e1",
        source="/marketscope/rag",
        type="marketscope.rag.DocumentIndexingFailed.v1",
        time=datetime(2024, 5, 1, tzinfo=UTC),
        subject="Document#d1",
        data={"document_id": "d1", "version_id": None, "reason": "not a PDF"},
        dataversion=1,
    ).with_sequence(3)
    decoded = CATALOG.decode(Envelope.from_json(stored.to_json()))
    assert decoded.data == DocumentIndexingFailed(
        document_id="d1", version_id=None, reason="not a PDF"
    )


def test_schemas_cover_stream_only_events_but_asyncapi_lists_no_channel_for_them() -> None:
    files = generated_files(CATALOG)
    for name in STREAM_ONLY:
        assert f"schemas/marketscope.rag.{name}.v1.json" in files
    document = yaml.safe_load(files["asyncapi.yaml"])
    assert STREAM_ONLY.isdisjoint(document["channels"])
    assert not any(
        name in message for message in document["components"]["messages"] for name in STREAM_ONLY
    )


class NeverCalledSns:
    def __getattr__(self, operation: str) -> Any:
        raise AssertionError(f"SNS {operation} must not be called")


def publisher() -> SnsPublisher:
    topics = TopicDirectory(region="us-east-1", account_id="000000000000")
    return SnsPublisher(NeverCalledSns(), topics)  # type: ignore[arg-type]


async def test_the_sns_publisher_refuses_stream_only_events() -> None:
    event = indexing_started()
    with pytest.raises(UnpublishedEventError, match="stream-only") as caught:
        publisher().topic_arn(event)
    assert (caught.value.event_type, caught.value.event_id) == (event.type, event.id)
    with pytest.raises(UnpublishedEventError):
        await publisher().publish(event)
    with pytest.raises(UnpublishedEventError):
        await publisher().publish_batch([quote_event(), event])


class RecordingPublisher:
    def __init__(self) -> None:
        self.published: list[str] = []

    async def publish_batch(self, envelopes: Sequence[Envelope]) -> list[str]:
        self.published.extend(e.type for e in envelopes)
        return [e.id for e in envelopes]


async def test_relay_clears_a_stream_only_event_appended_for_publishing_without_publishing(
    caplog: pytest.LogCaptureFixture,
) -> None:
    store = InMemoryEventStore()
    recorder = RecordingPublisher()
    relay = OutboxRelay(store, recorder)
    [mistake] = await store.append("Document#d1", [indexing_started()], expected_version=0)
    await store.append("Quote#AAPL", [quote_event()], expected_version=0)

    with caplog.at_level(logging.ERROR, logger="marketscope_events.outbox.relay"):
        assert await relay.publish_pending() == 1

    assert recorder.published == ["marketscope.market-data.QuoteUpdated.v2"]
    assert await store.pending_publication(10) == []
    assert mistake.id in caplog.text
    assert len(await store.read("Document#d1")) == 1  # still in its stream


async def test_running_relay_never_hands_a_stream_only_event_to_the_publisher() -> None:
    store = InMemoryEventStore()
    recorder = RecordingPublisher()
    relay = OutboxRelay(store, recorder, idle_interval=60)
    stop = asyncio.Event()
    running = asyncio.create_task(relay.run(stop))
    await asyncio.sleep(0.05)  # past the start-up sweep: appends are handed over now
    await store.append("Document#d2", [indexing_started("d2")], expected_version=0)
    await store.append("Quote#AAPL", [quote_event()], expected_version=0)
    for _ in range(100):
        if not await store.pending_publication(10):
            break
        await asyncio.sleep(0.01)
    stop.set()
    await asyncio.wait_for(running, timeout=5)

    assert recorder.published == ["marketscope.market-data.QuoteUpdated.v2"]
    assert await store.pending_publication(10) == []


async def test_replay_leaves_stream_only_events_out() -> None:
    store = InMemoryEventStore()
    await store.append("Document#d1", [indexing_started()], expected_version=0, publish=False)
    deleted = CATALOG.new_event(
        DocumentDeleted(document_id="d1", owner="u1", deleted_at=datetime.now(UTC)),
        subject="Document#d1",
    )
    await store.append("Document#d1", [deleted], expected_version=1, publish=False)

    selected = await select_events(store, stream_prefix="Document#")

    assert [e.id for e in selected] == [deleted.id]
