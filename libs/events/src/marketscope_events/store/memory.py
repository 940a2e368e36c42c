"""An in-memory event store held to the same contract tests as the DynamoDB one."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from marketscope_events.envelope import Envelope
from marketscope_events.errors import ConcurrencyError
from marketscope_events.store.base import (
    EventStore,
    OutboxEntry,
    Snapshot,
    numbered_for_append,
    stream_category,
)
from marketscope_events.timeutil import Clock, utc_now


@dataclass
class _Record:
    envelope: Envelope
    expires_at: datetime | None
    pending: bool


class InMemoryEventStore(EventStore):
    def __init__(self, *, clock: Clock = utc_now) -> None:
        self._clock = clock
        self._streams: dict[str, list[_Record]] = {}
        self._snapshots: dict[str, Snapshot] = {}
        self._lock = asyncio.Lock()

    def _visible(self, record: _Record) -> bool:
        return record.expires_at is None or record.expires_at > self._clock()

    async def append(
        self,
        stream_id: str,
        events: Sequence[Envelope],
        *,
        expected_version: int,
        publish: bool = True,
        expires_at: datetime | None = None,
    ) -> list[Envelope]:
        stored = numbered_for_append(stream_id, events, expected_version)
        async with self._lock:
            records = self._streams.setdefault(stream_id, [])
            if len(records) != expected_version:
                raise ConcurrencyError(stream_id, expected_version)
            records.extend(_Record(event, expires_at, publish) for event in stored)
        if publish:
            self._announce(stream_id, stored)
        return stored

    async def read(self, stream_id: str, *, from_version: int = 1) -> list[Envelope]:
        records = self._streams.get(stream_id, [])
        return [r.envelope for r in records[max(from_version, 1) - 1 :] if self._visible(r)]

    async def current_version(self, stream_id: str) -> int:
        return len(self._streams.get(stream_id, []))

    async def list_streams(self, prefix: str) -> list[str]:
        stream_category(prefix)
        return sorted(
            stream_id
            for stream_id, records in self._streams.items()
            if stream_id.startswith(prefix) and records and self._visible(records[0])
        )

    async def save_snapshot(self, snapshot: Snapshot) -> None:
        current = self._snapshots.get(snapshot.stream_id)
        if current is None or current.version <= snapshot.version:
            self._snapshots[snapshot.stream_id] = snapshot

    async def load_snapshot(self, stream_id: str) -> Snapshot | None:
        return self._snapshots.get(stream_id)

    async def pending_publication(self, limit: int) -> list[OutboxEntry]:
        pending = [
            OutboxEntry(stream_id, record.envelope.sequence or 0, record.envelope)
            for stream_id, records in self._streams.items()
            for record in records
            if record.pending
        ]
        pending.sort(key=lambda entry: (entry.envelope.time, entry.stream_id, entry.version))
        return pending[:limit]

    async def mark_published(self, entries: Sequence[OutboxEntry]) -> None:
        for entry in entries:
            self._streams[entry.stream_id][entry.version - 1].pending = False
