"""The stream repository, run on every event store adapter."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from marketscope_events import (
    CATALOG,
    ConcurrencyError,
    DecodedEvent,
    Envelope,
    EventStore,
    Loaded,
    StreamRepository,
)
from marketscope_events.catalog import QuoteUpdatedV1, QuoteUpdatedV2
from marketscope_events.store import OutboxEntry, Snapshot

from ..helpers import quote_event


@dataclass(frozen=True)
class PriceHistory:
    prices: tuple[Decimal, ...]
    providers: tuple[str, ...]


def fold(state: PriceHistory | None, event: DecodedEvent[Any]) -> PriceHistory:
    assert isinstance(event.data, QuoteUpdatedV2)  # upcast before the fold sees it
    previous = state or PriceHistory((), ())
    return PriceHistory(
        (*previous.prices, event.data.price), (*previous.providers, event.data.provider)
    )


def add_price(price: str) -> Any:
    def decide(state: PriceHistory | None, version: int) -> list[Envelope]:
        return [quote_event(price=price)]

    return decide


class DelegatingStore(EventStore):
    """Passes every call on to ``inner``; subclasses change one of them."""

    def __init__(self, inner: EventStore) -> None:
        self.inner = inner

    async def append(self, stream_id: str, events: Sequence[Envelope], **kwargs: Any) -> Any:
        return await self.inner.append(stream_id, events, **kwargs)

    async def read(self, stream_id: str, *, from_version: int = 1) -> list[Envelope]:
        return await self.inner.read(stream_id, from_version=from_version)

    async def current_version(self, stream_id: str) -> int:
        return await self.inner.current_version(stream_id)

    async def list_streams(self, prefix: str) -> list[str]:
        return await self.inner.list_streams(prefix)

    async def save_snapshot(self, snapshot: Snapshot) -> None:
        await self.inner.save_snapshot(snapshot)

    async def load_snapshot(self, stream_id: str) -> Snapshot | None:
        return await self.inner.load_snapshot(stream_id)

    async def pending_publication(self, limit: int) -> list[OutboxEntry]:
        return await self.inner.pending_publication(limit)

    async def mark_published(self, entries: Sequence[OutboxEntry]) -> None:
        await self.inner.mark_published(entries)


class ReadsInLockstep(DelegatingStore):
    """The first ``writers`` reads wait for each other, so those writers all load the
    same version and all but one of their appends conflict."""

    def __init__(self, inner: EventStore, writers: int) -> None:
        super().__init__(inner)
        self.barrier = asyncio.Barrier(writers)
        self.lockstep_reads = writers
        self.conflicts = 0

    async def read(self, stream_id: str, *, from_version: int = 1) -> list[Envelope]:
        events = await super().read(stream_id, from_version=from_version)
        if self.lockstep_reads > 0:
            self.lockstep_reads -= 1
            await self.barrier.wait()
        return events

    async def append(self, stream_id: str, events: Sequence[Envelope], **kwargs: Any) -> Any:
        try:
            return await super().append(stream_id, events, **kwargs)
        except ConcurrencyError:
            self.conflicts += 1
            raise


class RivalBeforeEveryAppend(DelegatingStore):
    """Another writer always appends first."""

    async def append(self, stream_id: str, events: Sequence[Envelope], **kwargs: Any) -> Any:
        version = await self.inner.current_version(stream_id)
        await self.inner.append(stream_id, [quote_event(price="1")], expected_version=version)
        return await super().append(stream_id, events, **kwargs)


class CountsReads(DelegatingStore):
    def __init__(self, inner: EventStore) -> None:
        super().__init__(inner)
        self.reads: list[int] = []

    async def read(self, stream_id: str, *, from_version: int = 1) -> list[Envelope]:
        events = await super().read(stream_id, from_version=from_version)
        self.reads.append(len(events))
        return events


class StreamRepositoryContract:
    """Subclasses provide ``store`` (an EventStore)."""

    async def test_load_folds_the_stream_and_says_its_version(self, store: EventStore) -> None:
        repository = StreamRepository(store, fold)
        assert await repository.load("Quote#AAPL") is None
        await repository.append("Quote#AAPL", [quote_event(price="1")], expected_version=0)
        await repository.append(
            "Quote#AAPL", [quote_event(price="2"), quote_event(price="3")], expected_version=1
        )

        loaded = await repository.load("Quote#AAPL")

        assert loaded == Loaded(PriceHistory(tuple(map(Decimal, "123")), ("replay",) * 3), 3)

    async def test_an_old_version_is_folded_upcast(self, store: EventStore) -> None:
        v1 = CATALOG.new_event(
            QuoteUpdatedV1(
                symbol="MSFT",
                price=Decimal("27.50"),
                previous_price=Decimal("25.00"),
                as_of=datetime(2013, 3, 1, 21, tzinfo=UTC),
                source="legacy-feed",
            ),
            subject="Quote#MSFT",
        )
        await store.append("Quote#MSFT", [v1], expected_version=0, publish=False)
        repository = StreamRepository(store, fold)

        loaded = await repository.load("Quote#MSFT")

        assert loaded is not None
        assert loaded.state == PriceHistory((Decimal("27.50"),), ("legacy-feed",))
        assert loaded.version == 1

    async def test_append_at_a_stale_version_is_a_concurrency_error(
        self, store: EventStore
    ) -> None:
        repository = StreamRepository(store, fold)
        await repository.append("Quote#IBM", [quote_event("IBM")], expected_version=0)
        with pytest.raises(ConcurrencyError):
            await repository.append("Quote#IBM", [quote_event("IBM")], expected_version=0)

    async def test_update_decides_on_the_loaded_state_and_returns_the_new_one(
        self, store: EventStore
    ) -> None:
        repository = StreamRepository(store, fold)
        seen: list[tuple[PriceHistory | None, int]] = []

        def raise_by_one(state: PriceHistory | None, version: int) -> list[Envelope]:
            seen.append((state, version))
            last = state.prices[-1] if state else Decimal("100")
            return [quote_event(price=str(last + 1))]

        first, stored_first = await repository.update("Quote#ORCL", raise_by_one)
        second, stored_second = await repository.update("Quote#ORCL", raise_by_one)

        assert seen[0] == (None, 0)
        assert seen[1] == (first, 1)
        assert second is not None
        assert second.prices == (Decimal("101"), Decimal("102"))
        assert [e.sequence for e in stored_first + stored_second] == [1, 2]
        assert [e.id for e in await store.read("Quote#ORCL")] == [
            e.id for e in stored_first + stored_second
        ]

    async def test_update_with_nothing_to_append_appends_nothing(self, store: EventStore) -> None:
        repository = StreamRepository(store, fold)
        await repository.append("Quote#NOOP", [quote_event()], expected_version=0)

        state, stored = await repository.update("Quote#NOOP", lambda state, version: [])

        assert stored == []
        assert state == PriceHistory((Decimal("187.25"),), ("replay",))
        assert await store.current_version("Quote#NOOP") == 1

    async def test_concurrent_updates_both_land(self, store: EventStore) -> None:
        lockstep = ReadsInLockstep(store, writers=2)
        repository = StreamRepository(lockstep, fold)
        await repository.append("Quote#RACE", [quote_event(price="1")], expected_version=0)

        results = await asyncio.gather(
            repository.update("Quote#RACE", add_price("2")),
            repository.update("Quote#RACE", add_price("3")),
        )

        assert lockstep.conflicts == 1  # one lost the race, reloaded and won the retry
        loaded = await repository.load("Quote#RACE")
        assert loaded is not None
        assert loaded.version == 3
        assert sorted(loaded.state.prices) == [Decimal("1"), Decimal("2"), Decimal("3")]
        final_states = [state for state, _ in results]
        assert loaded.state in final_states

    async def test_update_gives_up_after_its_attempts(self, store: EventStore) -> None:
        repository = StreamRepository(RivalBeforeEveryAppend(store), fold)
        with pytest.raises(ConcurrencyError):
            await repository.update("Quote#LOSE", add_price("2"), attempts=2)
        # Two rival events landed; none of ours did.
        assert [e.data["price"] for e in await store.read("Quote#LOSE")] == ["1", "1"]

    async def test_unpublished_events_are_kept_out_of_the_outbox(self, store: EventStore) -> None:
        from marketscope_events.catalog import DocumentIndexingStarted

        def started(state: Any, version: int) -> list[Envelope]:
            return [CATALOG.new_event(DocumentIndexingStarted(document_id="d1", version_id=None))]

        repository: StreamRepository[int] = StreamRepository(
            store, lambda state, event: (state or 0) + 1
        )
        state, stored = await repository.update("Document#d1", started, publish=False)

        assert state == 1
        assert stored[0].type == "marketscope.rag.DocumentIndexingStarted.v1"
        assert await store.pending_publication(10) == []

    async def test_a_known_state_reads_only_what_came_after_it(self, store: EventStore) -> None:
        counting = CountsReads(store)
        repository = StreamRepository(counting, fold)
        await repository.append(
            "Quote#KNOWN", [quote_event(price=str(n)) for n in range(1, 6)], expected_version=0
        )
        known = await repository.load("Quote#KNOWN")
        assert known is not None
        assert counting.reads == [5]

        unchanged = await repository.load("Quote#KNOWN", known=known)
        assert unchanged == known
        assert counting.reads == [5]  # nothing new: the version alone says so

        await repository.append("Quote#KNOWN", [quote_event(price="6")], expected_version=5)
        state, stored = await repository.update("Quote#KNOWN", add_price("7"), known=known)

        assert counting.reads == [5, 1]
        assert state is not None
        assert state.prices == tuple(Decimal(str(n)) for n in range(1, 8))
        assert [e.sequence for e in stored] == [7]
        fresh = await repository.load("Quote#KNOWN")
        assert fresh is not None
        assert fresh.state == state
