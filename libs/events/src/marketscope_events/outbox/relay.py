"""The outbox relay: publishes what the store marked pending, then clears the marker.

An append and its marker are one write, so a crash between append and publish loses
nothing: the next relay pass finds the marker and publishes (at-least-once). A stream-only
event that was appended to be published by mistake is never handed to the publisher: its
marker is cleared with an error in the log, so it cannot block the outbox.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Protocol

from marketscope_events.catalog import CATALOG, Catalog
from marketscope_events.envelope import Envelope
from marketscope_events.errors import EventsError
from marketscope_events.store.base import EventStore, OutboxEntry

logger = logging.getLogger(__name__)
# SNS PublishBatch takes 10 messages: one sweep page or hand-over batch is one request.
PUBLISH_BATCH_SIZE = 10


class EventPublisher(Protocol):
    async def publish_batch(self, envelopes: Sequence[Envelope]) -> list[str]: ...


class OutboxRelay:
    """Publishes the store's pending events.

    While `run` runs, events a committed append hands over are published at once (no
    outbox index query on the way), and a sweep of the outbox index every
    ``idle_interval`` seconds publishes whatever is left: appends by
    other processes, failed publishes, and events written before a crash.
    """

    def __init__(
        self,
        store: EventStore,
        publisher: EventPublisher,
        *,
        batch_size: int = PUBLISH_BATCH_SIZE,
        idle_interval: float = 1.0,
        catalog: Catalog = CATALOG,
    ) -> None:
        self._store = store
        self._publisher = publisher
        self._catalog = catalog
        self._batch_size = batch_size
        self._idle_interval = idle_interval
        self._wake = asyncio.Event()
        self._sweep_requested = True
        self._handed_over: list[OutboxEntry] = []
        store.add_append_listener(self._hand_over)

    def _hand_over(self, entries: Sequence[OutboxEntry]) -> None:
        self._handed_over.extend(entries)
        self._wake.set()

    async def publish_pending(self) -> int:
        """Publish everything pending now. Returns how many events were published."""
        # Handed-over events are pending in the store too: this sweep covers them.
        self._handed_over.clear()
        total = 0
        while True:
            entries = await self._store.pending_publication(self._batch_size)
            published, cleared = await self._publish(entries)
            total += published
            if published + cleared < self._batch_size:
                # A short page means the index had no more (or the rest failed: leave
                # them for the next sweep rather than spin on them).
                return total

    async def _publish(self, entries: Sequence[OutboxEntry]) -> tuple[int, int]:
        """Publish ``entries`` and clear their markers. Returns how many were published
        and how many stream-only ones had their marker cleared without publishing."""
        stream_only: list[OutboxEntry] = []
        to_publish: list[OutboxEntry] = []
        for entry in entries:
            unpublished = self._catalog.is_unpublished(entry.envelope.type)
            (stream_only if unpublished else to_publish).append(entry)
        if stream_only:
            await self._clear_stream_only(stream_only)
        done: list[OutboxEntry] = []
        if to_publish:
            published_ids = set(
                await self._publisher.publish_batch([entry.envelope for entry in to_publish])
            )
            done = [entry for entry in to_publish if entry.envelope.id in published_ids]
            await self._store.mark_published(done)
            # An append handed over while a sweep ran may have been found by the sweep too.
            self._handed_over = [e for e in self._handed_over if e.envelope.id not in published_ids]
        return len(done), len(stream_only)

    async def _clear_stream_only(self, entries: Sequence[OutboxEntry]) -> None:
        for entry in entries:
            logger.error(
                "%s (event %s in %s) is stream-only but was appended with publish=True; "
                "its outbox marker is cleared and it is not published",
                entry.envelope.type,
                entry.envelope.id,
                entry.stream_id,
            )
        await self._store.mark_published(entries)
        cleared = {entry.envelope.id for entry in entries}
        self._handed_over = [e for e in self._handed_over if e.envelope.id not in cleared]

    async def _publish_handed_over(self) -> None:
        while self._handed_over:
            batch = self._handed_over[: self._batch_size]
            del self._handed_over[: self._batch_size]
            await self._publish(batch)

    async def run(self, stop: asyncio.Event) -> None:
        """Publish until ``stop`` is set."""
        while not stop.is_set():
            self._wake.clear()
            try:
                await self._publish_handed_over()
                if self._sweep_requested:
                    self._sweep_requested = False
                    await self.publish_pending()
            except EventsError:
                # What failed keeps its marker: the next sweep publishes it.
                logger.exception("outbox relay pass failed; the next sweep retries")
                self._sweep_requested = True
            waiters = [asyncio.create_task(self._wake.wait()), asyncio.create_task(stop.wait())]
            done, pending = await asyncio.wait(
                waiters, timeout=self._idle_interval, return_when=asyncio.FIRST_COMPLETED
            )
            for task in pending:
                task.cancel()
            if not done:
                self._sweep_requested = True
