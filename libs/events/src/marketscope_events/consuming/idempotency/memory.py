"""In-memory idempotency records, held to the same contract tests as DynamoDB's.

For a queue that lives as long as the process (a gateway instance's own queue) it is the
whole story; ``capacity`` bounds the records kept, the oldest going first.
"""

from __future__ import annotations

from collections import OrderedDict
from datetime import datetime, timedelta

from marketscope_events.consuming.idempotency.base import IdempotencyStore, record_key
from marketscope_events.errors import EventAlreadyHandledError, EventInProgressError
from marketscope_events.timeutil import Clock, utc_now


class InMemoryIdempotencyStore(IdempotencyStore):
    def __init__(self, *, clock: Clock = utc_now, capacity: int | None = None) -> None:
        if capacity is not None and capacity < 1:
            raise ValueError("capacity must be at least 1")
        self._clock = clock
        self._capacity = capacity
        self._records: OrderedDict[str, tuple[str, datetime]] = OrderedDict()

    def _keep(self, key: str, record: tuple[str, datetime]) -> None:
        self._records[key] = record
        self._records.move_to_end(key)
        while self._capacity is not None and len(self._records) > self._capacity:
            self._records.popitem(last=False)

    async def begin(self, consumer: str, event_id: str, *, claim_for: timedelta) -> None:
        key = record_key(consumer, event_id)
        now = self._clock()
        existing = self._records.get(key)
        if existing is not None and existing[1] > now:
            if existing[0] == "completed":
                raise EventAlreadyHandledError(consumer, event_id)
            raise EventInProgressError(consumer, event_id)
        self._keep(key, ("in_progress", now + claim_for))

    async def extend(self, consumer: str, event_id: str, *, claim_for: timedelta) -> None:
        key = record_key(consumer, event_id)
        existing = self._records.get(key)
        if existing is not None and existing[0] == "in_progress":
            self._keep(key, ("in_progress", self._clock() + claim_for))

    async def complete(self, consumer: str, event_id: str, *, keep_for: timedelta) -> None:
        self._keep(record_key(consumer, event_id), ("completed", self._clock() + keep_for))

    async def release(self, consumer: str, event_id: str) -> None:
        self._records.pop(record_key(consumer, event_id), None)
