"""A stream's state, folded from its events, and optimistic updates of it.

``load`` reads a stream, decodes every event through the catalog (so old versions arrive
upcast) and folds them into a state. ``update`` loads, asks a decision function for the
new events, appends them at the loaded version and, when another writer got there first,
starts again from a fresh load.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from marketscope_events.catalog import CATALOG, Catalog, DecodedEvent
from marketscope_events.envelope import Envelope
from marketscope_events.errors import ConcurrencyError
from marketscope_events.store.base import EventStore

StateT = TypeVar("StateT")

Fold = Callable[[StateT | None, DecodedEvent[Any]], StateT]
Decide = Callable[[StateT | None, int], Sequence[Envelope]]


@dataclass(frozen=True, slots=True)
class Loaded(Generic[StateT]):
    """A stream's folded state and the version it is as of (the version to append at)."""

    state: StateT
    version: int


class StreamRepository(Generic[StateT]):
    def __init__(
        self, store: EventStore, fold: Fold[StateT], *, catalog: Catalog = CATALOG
    ) -> None:
        self._store = store
        self._fold = fold
        self._catalog = catalog

    async def load(
        self, stream_id: str, *, known: Loaded[StateT] | None = None
    ) -> Loaded[StateT] | None:
        """The folded state, or None when the stream has no (unexpired) events. With
        ``known`` (a state this process folded before) only the events after it are read."""
        state, version = await self._read(stream_id, known)
        return None if state is None else Loaded(state, version)

    async def append(
        self,
        stream_id: str,
        events: Sequence[Envelope],
        *,
        expected_version: int,
        publish: bool = True,
        expires_at: datetime | None = None,
    ) -> list[Envelope]:
        """The store's append: `ConcurrencyError` when the stream moved on."""
        return await self._store.append(
            stream_id,
            events,
            expected_version=expected_version,
            publish=publish,
            expires_at=expires_at,
        )

    async def update(
        self,
        stream_id: str,
        decide: Decide[StateT],
        *,
        attempts: int = 3,
        publish: bool = True,
        known: Loaded[StateT] | None = None,
    ) -> tuple[StateT | None, list[Envelope]]:
        """Append what ``decide(state, version)`` returns at the version it saw; on a
        conflict, decide again on a fresh load, up to ``attempts`` times in all (then the
        `ConcurrencyError` propagates). Returns the new state and the stored events;
        when ``decide`` returns nothing, nothing is appended. With ``known`` only the
        events after it are read (a long stream is not read whole for every update)."""
        if attempts < 1:
            raise ValueError("attempts must be at least 1")
        attempt = 1
        while True:
            state, version = await self._read(stream_id, known)
            if state is not None:
                known = Loaded(state, version)
            events = decide(state, version)
            if not events:
                return state, []
            try:
                stored = await self._store.append(
                    stream_id, events, expected_version=version, publish=publish
                )
            except ConcurrencyError:
                if attempt >= attempts:
                    raise
                attempt += 1
                continue
            return self._fold_all(state, stored), stored

    async def _read(
        self, stream_id: str, known: Loaded[StateT] | None
    ) -> tuple[StateT | None, int]:
        # The version comes from the store as well as from the events read: a stream whose
        # last events expired is still at the version they took, and an append must
        # follow it. Asked before the read, it never claims events the fold did not see.
        current = await self._store.current_version(stream_id)
        if known is not None and current <= known.version:
            return known.state, known.version
        start = 1 if known is None else known.version + 1
        events = await self._store.read(stream_id, from_version=start)
        state = self._fold_all(None if known is None else known.state, events)
        last_read = (events[-1].sequence or 0) if events else 0
        return state, max(current, last_read, 0 if known is None else known.version)

    def _fold_all(self, state: StateT | None, events: Sequence[Envelope]) -> StateT | None:
        for envelope in events:
            state = self._fold(state, self._catalog.decode(envelope))
        return state
