"""The producing service: `DynamoDBEventStore.append` with the outbox marker, published
by `OutboxRelay` through `SnsPublisher`, as market-data publishes QuoteUpdated.

moto deep-copies the whole table on every TransactWriteItems, so an append would cost
time in proportion to the events already stored (DynamoDB does not): the producer moves
to a fresh table (with its own relay) every ``segment_events`` appends, and the retired
table's relay publishes what it still holds before it stops.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from quotes import SYMBOLS, is_poison, quote_event
from wiring import Aws

from marketscope_events import ConcurrencyError, DynamoDBEventStore, Envelope, OutboxRelay
from marketscope_events.publishing import SnsPublisher

APPENDERS = 3


@dataclass
class Segment:
    store: DynamoDBEventStore
    relay: OutboxRelay
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    versions: dict[str, int] = field(default_factory=dict)
    appended: int = 0
    in_flight: int = 0
    idle: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self.idle.set()
        self.task = asyncio.create_task(self.relay.run(self.stop))

    async def retire(self) -> None:
        """Stop the relay once no append is under way, then publish what it left."""
        await self.idle.wait()
        self.stop.set()
        if self.task is not None:
            await self.task
        await self.relay.publish_pending()

    async def pending(self) -> int:
        return len(await self.store.pending_publication(100))


@dataclass
class Published:
    """Every event appended, in order, and which of them are poison."""

    event_ids: list[str] = field(default_factory=list)
    poison_ids: list[str] = field(default_factory=list)
    retried_appends: int = 0  # appends the SDK retried after the first had landed
    first_at: float = 0.0
    last_at: float = 0.0

    @property
    def normal_ids(self) -> set[str]:
        return set(self.event_ids) - set(self.poison_ids)


class Producer:
    def __init__(self, aws: Aws, tables: list[str], relay_batch_size: int) -> None:
        publisher = SnsPublisher(aws.sns, aws.topics)
        stores = [DynamoDBEventStore(aws.dynamodb, table) for table in tables]
        self._segments = [
            Segment(store, OutboxRelay(store, publisher, batch_size=relay_batch_size))
            for store in stores
        ]
        self._current = 0
        self._retiring: list[asyncio.Task[None]] = []
        self.published = Published()

    async def produce(
        self,
        events: int,
        poison_every: int,
        segment_events: int,
        room: Callable[[int], Awaitable[None]],
    ) -> None:
        """Append ``events`` events with a few concurrent appenders (each its own
        symbols, so they never race on a stream), each append once ``room(appended)``
        returns: the slowest consumer is close enough behind."""
        self._segments[0].start()
        sequence = iter(range(1, events + 1))
        self.published.first_at = time.perf_counter()

        async def appender(index: int) -> None:
            for tick, number in enumerate(sequence):
                await room(len(self.published.event_ids))
                symbol = f"CH{index}{tick % SYMBOLS}"
                event = quote_event(number, poison_every, symbol)
                self.published.event_ids.append(event.id)
                if is_poison(number, poison_every):
                    self.published.poison_ids.append(event.id)
                await self._append(event, segment_events)

        await asyncio.gather(*(appender(index) for index in range(APPENDERS)))
        self.published.last_at = time.perf_counter()

    async def _append_once(
        self, store: DynamoDBEventStore, stream: str, event: Envelope, expected: int
    ) -> None:
        """An emulator that answers slowly makes the SDK time out and retry an append
        whose first attempt landed; the retry then finds the stream one version on. That
        version holding this very event is success, not a race."""
        try:
            await store.append(stream, [event], expected_version=expected)
        except ConcurrencyError:
            stored = await store.read(stream, from_version=expected + 1)
            if not any(existing.id == event.id for existing in stored):
                raise
            self.published.retried_appends += 1

    async def _append(self, event: Envelope, segment_events: int) -> None:
        segment = self._segments[self._current]
        stream = event.subject or event.id
        expected = segment.versions.get(stream, 0)
        segment.versions[stream] = expected + 1
        segment.in_flight += 1
        segment.idle.clear()
        try:
            await self._append_once(segment.store, stream, event, expected)
        finally:
            segment.in_flight -= 1
            if segment.in_flight == 0:
                segment.idle.set()
        segment.appended += 1
        if segment.appended == segment_events and self._current + 1 < len(self._segments):
            self._retiring.append(asyncio.create_task(segment.retire()))
            self._current += 1
            self._segments[self._current].start()

    async def close(self) -> int:
        """Stop every relay after it published what it holds; the events still pending
        in any outbox (0 when everything appended was published)."""
        await asyncio.gather(*self._retiring)
        await self._segments[self._current].retire()
        counts = await asyncio.gather(*(segment.pending() for segment in self._segments))
        return sum(counts)


def segment_count(events: int, segment_events: int) -> int:
    return math.ceil(events / max(segment_events, 1)) + 1
