"""The event store contract, written once and run against every adapter."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from marketscope_events import ConcurrencyError, EventStore, Snapshot

from ..helpers import quote_event


class MutableClock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


class EventStoreContract:
    """Subclasses provide ``store`` (an EventStore) and ``clock`` (a MutableClock it uses)."""

    async def test_append_assigns_consecutive_versions(self, store: EventStore) -> None:
        first = await store.append("Quote#AAPL", [quote_event()], expected_version=0)
        more = await store.append(
            "Quote#AAPL", [quote_event(price="188"), quote_event(price="189")], expected_version=1
        )
        assert [e.sequence for e in first + more] == [1, 2, 3]
        assert await store.current_version("Quote#AAPL") == 3
        read = await store.read("Quote#AAPL")
        assert [e.id for e in read] == [e.id for e in first + more]
        assert [e.data["price"] for e in read] == ["187.25", "188", "189"]

    async def test_read_from_version(self, store: EventStore) -> None:
        await store.append(
            "Quote#MSFT", [quote_event("MSFT", str(p)) for p in (1, 2, 3)], expected_version=0
        )
        assert [e.sequence for e in await store.read("Quote#MSFT", from_version=2)] == [2, 3]
        assert await store.read("Quote#NONE") == []
        assert await store.current_version("Quote#NONE") == 0

    async def test_stale_expected_version_is_a_concurrency_error(self, store: EventStore) -> None:
        await store.append("Quote#IBM", [quote_event("IBM")], expected_version=0)
        with pytest.raises(ConcurrencyError) as caught:
            await store.append("Quote#IBM", [quote_event("IBM", "1")], expected_version=0)
        assert caught.value.stream_id == "Quote#IBM"
        assert [e.data["price"] for e in await store.read("Quote#IBM")] == ["187.25"]

    async def test_expected_version_ahead_of_stream_is_a_concurrency_error(
        self, store: EventStore
    ) -> None:
        with pytest.raises(ConcurrencyError):
            await store.append("Quote#GOOG", [quote_event("GOOG")], expected_version=4)
        assert await store.current_version("Quote#GOOG") == 0

    async def test_concurrent_appends_one_wins_none_overwrites(self, store: EventStore) -> None:
        await store.append("Quote#ORCL", [quote_event("ORCL")], expected_version=0)
        attempts = [
            store.append("Quote#ORCL", [quote_event("ORCL", str(100 + n))], expected_version=1)
            for n in range(5)
        ]
        results = await asyncio.gather(*attempts, return_exceptions=True)
        winners = [r for r in results if not isinstance(r, BaseException)]
        losers = [r for r in results if isinstance(r, ConcurrencyError)]
        assert len(winners) == 1
        assert len(losers) == 4
        stored = await store.read("Quote#ORCL")
        assert len(stored) == 2
        assert stored[1].id == winners[0][0].id

    async def test_list_streams_by_prefix(self, store: EventStore) -> None:
        for stream in ("Quote#AAPL", "Quote#AMZN", "Quote#MSFT", "Conversation#c1"):
            await store.append(stream, [quote_event()], expected_version=0)
        assert await store.list_streams("Quote#A") == ["Quote#AAPL", "Quote#AMZN"]
        assert await store.list_streams("Quote#") == ["Quote#AAPL", "Quote#AMZN", "Quote#MSFT"]
        assert await store.list_streams("Conversation#") == ["Conversation#c1"]
        with pytest.raises(ValueError, match="category"):
            await store.list_streams("Quo")

    async def test_expired_events_are_invisible(
        self, store: EventStore, clock: MutableClock
    ) -> None:
        expires = clock.now + timedelta(minutes=5)
        await store.append(
            "Quote#TTL", [quote_event("TTL")], expected_version=0, expires_at=expires
        )
        assert len(await store.read("Quote#TTL")) == 1
        assert await store.list_streams("Quote#TT") == ["Quote#TTL"]
        clock.now = expires + timedelta(seconds=1)
        assert await store.read("Quote#TTL") == []
        assert await store.list_streams("Quote#TT") == []

    async def test_snapshots_keep_the_latest(self, store: EventStore, clock: MutableClock) -> None:
        assert await store.load_snapshot("Quote#SNAP") is None
        await store.save_snapshot(Snapshot("Quote#SNAP", 3, {"price": "1"}, clock.now))
        await store.save_snapshot(Snapshot("Quote#SNAP", 7, {"price": "2"}, clock.now))
        loaded = await store.load_snapshot("Quote#SNAP")
        assert loaded is not None
        assert (loaded.version, loaded.state) == (7, {"price": "2"})

    async def test_outbox_holds_published_events_until_marked(self, store: EventStore) -> None:
        [a] = await store.append("Quote#OUT", [quote_event("OUT")], expected_version=0)
        await store.append("Quote#QUIET", [quote_event("QUIET")], expected_version=0, publish=False)
        pending = await store.pending_publication(10)
        assert [(p.stream_id, p.version, p.envelope.id) for p in pending] == [
            ("Quote#OUT", 1, a.id)
        ]
        await store.mark_published(pending)
        assert await store.pending_publication(10) == []
        assert len(await store.read("Quote#OUT")) == 1

    async def test_append_validates_arguments(self, store: EventStore) -> None:
        with pytest.raises(ValueError, match="at least one"):
            await store.append("Quote#X", [], expected_version=0)
        with pytest.raises(ValueError, match="category"):
            await store.append("no-category", [quote_event()], expected_version=0)
