"""The event store port: append-only streams with optimistic concurrency and an outbox."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from marketscope_events.envelope import Envelope

# DynamoDB transactions take at most 100 items; one is the expected-version check.
MAX_EVENTS_PER_APPEND = 99


@dataclass(frozen=True, slots=True)
class Snapshot:
    """A projection's state as of a stream version, so reads can start after it."""

    stream_id: str
    version: int
    state: dict[str, Any]
    taken_at: datetime


@dataclass(frozen=True, slots=True)
class OutboxEntry:
    """A stored event that has not been published yet."""

    stream_id: str
    version: int
    envelope: Envelope
    # The event as its store wrote it, when the store needs that to clear the marker.
    record: Mapping[str, Any] | None = field(default=None, compare=False, repr=False)


def stream_category(prefix_or_stream_id: str) -> str:
    """``Quote#AAPL`` -> ``Quote``. Stream ids and list prefixes must name a category."""
    category, separator, _ = prefix_or_stream_id.partition("#")
    if not separator or not category:
        raise ValueError(
            f"{prefix_or_stream_id!r} must start with a category and '#', like 'Quote#AAPL'"
        )
    return category


AppendListener = Callable[[Sequence[OutboxEntry]], None]


class EventStore(ABC):
    """Streams of envelopes keyed by (stream id, version).

    ``append`` writes all events and their outbox markers atomically or not at all;
    events whose ``expires_at`` has passed are invisible to every read. Listeners hear of
    every committed append that is to be published (the outbox relay publishes those at
    once instead of finding them again through the outbox index).
    """

    _append_listeners: list[AppendListener]

    def add_append_listener(self, listener: AppendListener) -> None:
        if not hasattr(self, "_append_listeners"):
            self._append_listeners = []
        self._append_listeners.append(listener)

    def _announce(
        self,
        stream_id: str,
        stored: Sequence[Envelope],
        records: Sequence[Mapping[str, Any]] | None = None,
    ) -> None:
        kept: Sequence[Mapping[str, Any] | None] = (
            [None] * len(stored) if records is None else records
        )
        entries = [
            OutboxEntry(stream_id, event.sequence or 0, event, record)
            for event, record in zip(stored, kept, strict=True)
        ]
        for listener in getattr(self, "_append_listeners", ()):
            listener(entries)

    @abstractmethod
    async def append(
        self,
        stream_id: str,
        events: Sequence[Envelope],
        *,
        expected_version: int,
        publish: bool = True,
        expires_at: datetime | None = None,
    ) -> list[Envelope]:
        """Append after ``expected_version`` (0 for a new stream); raise ConcurrencyError
        when the stream is not at that version. Returns the events with ``sequence`` set."""

    @abstractmethod
    async def read(self, stream_id: str, *, from_version: int = 1) -> list[Envelope]: ...

    @abstractmethod
    async def current_version(self, stream_id: str) -> int:
        """The highest version written to the stream, 0 when it has none."""

    @abstractmethod
    async def list_streams(self, prefix: str) -> list[str]:
        """Stream ids starting with ``prefix`` (which names a category: ``Quote#``)."""

    @abstractmethod
    async def save_snapshot(self, snapshot: Snapshot) -> None: ...

    @abstractmethod
    async def load_snapshot(self, stream_id: str) -> Snapshot | None: ...

    @abstractmethod
    async def pending_publication(self, limit: int) -> list[OutboxEntry]:
        """Events appended with ``publish=True`` and not yet marked published, oldest first."""

    @abstractmethod
    async def mark_published(self, entries: Sequence[OutboxEntry]) -> None: ...


def numbered_for_append(
    stream_id: str, events: Sequence[Envelope], expected_version: int
) -> list[Envelope]:
    """Check an append's arguments and give the events their stream versions."""
    stream_category(stream_id)
    if expected_version < 0:
        raise ValueError("expected_version must be >= 0")
    if not events:
        raise ValueError("append needs at least one event")
    if len(events) > MAX_EVENTS_PER_APPEND:
        raise ValueError(f"append takes at most {MAX_EVENTS_PER_APPEND} events at once")
    return [
        event.with_sequence(expected_version + offset)
        for offset, event in enumerate(events, start=1)
    ]
