"""The producing service: appends with the outbox marker, relayed to SNS."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from params import Params
from wiring import Aws

from marketscope_events import DynamoDBEventStore, Envelope, OutboxRelay
from marketscope_events.publishing import SnsPublisher


@dataclass
class Segment:
    """One event-store table with the relay that publishes its outbox."""

    store: DynamoDBEventStore
    relay: OutboxRelay
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    versions: dict[str, int] = field(default_factory=dict)  # stream -> last version
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


class Producer:
    """The producing service: DynamoDBEventStore.append with the outbox marker, which
    hands the event to the running relay. Its table is swapped for a fresh one every
    ``segment_events`` appends (0: never): moto deep-copies the whole table on every
    TransactWriteItems action, so an append would otherwise cost time in proportion to
    the events already stored, which real DynamoDB does not."""

    def __init__(self, aws: Aws, tables: Sequence[str], params: Params) -> None:
        publisher = SnsPublisher(aws.sns, aws.topics)
        stores = [DynamoDBEventStore(aws.dynamodb, table) for table in tables]
        self._segments = [Segment(store, OutboxRelay(store, publisher)) for store in stores]
        self._segment_events = params.segment_events
        self._current = 0
        self.appended = 0
        self._retiring: list[asyncio.Task[None]] = []

    def start(self) -> None:
        self._segments[0].start()

    async def append(self, event: Envelope) -> None:
        segment = self._segments[self._current]
        stream = event.subject or event.id
        expected = segment.versions.get(stream, 0)
        segment.versions[stream] = expected + 1
        segment.in_flight += 1
        segment.idle.clear()
        try:
            await segment.store.append(stream, [event], expected_version=expected)
        finally:
            segment.in_flight -= 1
            if segment.in_flight == 0:
                segment.idle.set()
        segment.appended += 1
        self.appended += 1
        if segment.appended == self._segment_events:
            self._next_segment()

    def _next_segment(self) -> None:
        if self._current + 1 >= len(self._segments):
            return  # out of fresh tables: carry on with this one
        self._retiring.append(asyncio.create_task(self._segments[self._current].retire()))
        self._current += 1
        self._segments[self._current].start()

    async def close(self) -> None:
        await asyncio.gather(*self._retiring)
        current = self._segments[self._current]
        current.stop.set()
        if current.task is not None:
            await current.task


def segment_count(events: int, params: Params) -> int:
    if params.segment_events <= 0:
        return 1
    return math.ceil(events / params.segment_events) + 1
