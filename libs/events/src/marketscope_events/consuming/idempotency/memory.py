"""In-memory idempotency records, held to the same contract tests as DynamoDB's."""

from __future__ import annotations

from datetime import datetime, timedelta

from marketscope_events.consuming.idempotency.base import IdempotencyStore, record_key
from marketscope_events.errors import EventAlreadyHandledError, EventInProgressError
from marketscope_events.timeutil import Clock, utc_now


class InMemoryIdempotencyStore(IdempotencyStore):
    def __init__(self, *, clock: Clock = utc_now) -> None:
        self._clock = clock
        self._records: dict[str, tuple[str, datetime]] = {}

    async def begin(self, consumer: str, event_id: str, *, claim_for: timedelta) -> None:
        key = record_key(consumer, event_id)
        now = self._clock()
        existing = self._records.get(key)
        if existing is not None and existing[1] > now:
            if existing[0] == "completed":
                raise EventAlreadyHandledError(consumer, event_id)
            raise EventInProgressError(consumer, event_id)
        self._records[key] = ("in_progress", now + claim_for)

    async def complete(self, consumer: str, event_id: str, *, keep_for: timedelta) -> None:
        self._records[record_key(consumer, event_id)] = ("completed", self._clock() + keep_for)

    async def release(self, consumer: str, event_id: str) -> None:
        self._records.pop(record_key(consumer, event_id), None)
