"""In-memory idempotency records, held to the same contract tests as DynamoDB's.

For a queue that lives as long as the process (a gateway instance's own queue) it is the
whole story; ``capacity`` bounds the records kept, the oldest going first.
"""

from __future__ import annotations

import uuid
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timedelta

from marketscope_events.consuming.idempotency.base import IdempotencyStore, record_key
from marketscope_events.errors import EventAlreadyHandledError, EventInProgressError
from marketscope_events.timeutil import Clock, utc_now


@dataclass(frozen=True)
class _Record:
    status: str
    expires: datetime
    owner: str | None = None

    def held_by(self, owner: str | None) -> bool:
        return self.status == "in_progress" and (owner is None or self.owner == owner)


class InMemoryIdempotencyStore(IdempotencyStore):
    def __init__(self, *, clock: Clock = utc_now, capacity: int | None = None) -> None:
        if capacity is not None and capacity < 1:
            raise ValueError("capacity must be at least 1")
        self._clock = clock
        self._capacity = capacity
        self._records: OrderedDict[str, _Record] = OrderedDict()

    def _keep(self, key: str, record: _Record) -> None:
        self._records[key] = record
        self._records.move_to_end(key)
        while self._capacity is not None and len(self._records) > self._capacity:
            self._records.popitem(last=False)

    async def begin(self, consumer: str, event_id: str, *, claim_for: timedelta) -> str:
        key = record_key(consumer, event_id)
        now = self._clock()
        existing = self._records.get(key)
        if existing is not None and existing.expires > now:
            if existing.status == "completed":
                raise EventAlreadyHandledError(consumer, event_id)
            raise EventInProgressError(consumer, event_id)
        owner = uuid.uuid4().hex
        self._keep(key, _Record("in_progress", now + claim_for, owner))
        return owner

    async def extend(
        self, consumer: str, event_id: str, *, claim_for: timedelta, owner: str | None = None
    ) -> None:
        key = record_key(consumer, event_id)
        existing = self._records.get(key)
        if existing is not None and existing.held_by(owner):
            self._keep(key, _Record("in_progress", self._clock() + claim_for, existing.owner))

    async def complete(self, consumer: str, event_id: str, *, keep_for: timedelta) -> None:
        self._keep(record_key(consumer, event_id), _Record("completed", self._clock() + keep_for))

    async def release(self, consumer: str, event_id: str, *, owner: str | None = None) -> None:
        key = record_key(consumer, event_id)
        existing = self._records.get(key)
        if existing is not None and (owner is None or existing.held_by(owner)):
            del self._records[key]
