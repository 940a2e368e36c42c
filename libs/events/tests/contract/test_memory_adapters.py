"""The contracts against the in-memory adapters."""

from __future__ import annotations

import pytest

from marketscope_events import InMemoryEventStore, InMemoryIdempotencyStore

from .event_store_contract import EventStoreContract, MutableClock
from .idempotency_contract import IdempotencyContract
from .stream_repository_contract import StreamRepositoryContract


@pytest.fixture
def clock() -> MutableClock:
    return MutableClock()


class TestInMemoryEventStore(EventStoreContract):
    @pytest.fixture
    def store(self, clock: MutableClock) -> InMemoryEventStore:
        return InMemoryEventStore(clock=clock)


class TestInMemoryIdempotency(IdempotencyContract):
    @pytest.fixture
    def records(self, clock: MutableClock) -> InMemoryIdempotencyStore:
        return InMemoryIdempotencyStore(clock=clock)


class TestInMemoryStreamRepository(StreamRepositoryContract):
    @pytest.fixture
    def store(self, clock: MutableClock) -> InMemoryEventStore:
        return InMemoryEventStore(clock=clock)
