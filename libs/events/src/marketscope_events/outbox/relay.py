"""The outbox relay: publishes what the store marked pending, then clears the marker.

An append and its marker are one write, so a crash between append and publish loses
nothing: the next relay pass finds the marker and publishes (at-least-once).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Protocol

from marketscope_events.envelope import Envelope
from marketscope_events.errors import EventsError
from marketscope_events.store.base import EventStore

logger = logging.getLogger(__name__)


class EventPublisher(Protocol):
    async def publish_batch(self, envelopes: Sequence[Envelope]) -> list[str]: ...


class OutboxRelay:
    def __init__(
        self,
        store: EventStore,
        publisher: EventPublisher,
        *,
        batch_size: int = 10,
        idle_interval: float = 1.0,
    ) -> None:
        self._store = store
        self._publisher = publisher
        self._batch_size = batch_size
        self._idle_interval = idle_interval
        self._wake = asyncio.Event()

    def notify(self) -> None:
        """Wake the running relay at once (call after an append)."""
        self._wake.set()

    async def publish_pending(self) -> int:
        """Publish everything pending now. Returns how many events were published."""
        total = 0
        while True:
            entries = await self._store.pending_publication(self._batch_size)
            if not entries:
                return total
            published_ids = set(
                await self._publisher.publish_batch([entry.envelope for entry in entries])
            )
            done = [entry for entry in entries if entry.envelope.id in published_ids]
            await self._store.mark_published(done)
            total += len(done)
            if len(done) < len(entries):
                # Leave the rest pending for the next pass rather than spin on them.
                return total

    async def run(self, stop: asyncio.Event) -> None:
        """Publish until ``stop`` is set, waking on `notify` or every ``idle_interval``."""
        while not stop.is_set():
            self._wake.clear()
            try:
                await self.publish_pending()
            except EventsError:
                logger.exception("outbox relay pass failed; retrying")
            waiters = [asyncio.create_task(self._wake.wait()), asyncio.create_task(stop.wait())]
            _, pending = await asyncio.wait(
                waiters, timeout=self._idle_interval, return_when=asyncio.FIRST_COMPLETED
            )
            for task in pending:
                task.cancel()
