"""Acknowledging handled messages in batches: their idempotency records completed with
one write request, then the messages deleted with one DeleteMessageBatch.

A consumer's handlers finish one by one; acknowledging each on its own would cost two
requests a message. The acknowledger gathers what finished, across receives, and sends a
batch as soon as it is full (10, the SQS limit) or ``window`` seconds after its first
message finished, whichever comes first. Completion comes before deletion: a worker killed
in between leaves a completed record, and the redelivery is recognised as a duplicate. A
completion that cannot be written does not keep the message: deleting it beats running
its handler again later (its claim lapses, and a redelivery, if any, runs once more).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import timedelta

from marketscope_events.consuming.idempotency.base import IdempotencyStore
from marketscope_events.consuming.queue import SQS_BATCH_LIMIT, ConsumerQueue, Message
from marketscope_events.consuming.reports import MessageReport
from marketscope_events.errors import EventsError

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Finished:
    """A message whose handling is over and that leaves the queue."""

    message: Message
    report: MessageReport
    # The claim whose completion is still to be written (None: recorded already, by the
    # handler's own transaction, or the message was a duplicate).
    completion_due: str | None = None


class Acknowledger:
    def __init__(
        self,
        consumer: str,
        queue: ConsumerQueue,
        idempotency: IdempotencyStore,
        *,
        keep_for: timedelta,
        window: float,
    ) -> None:
        self._consumer = consumer
        self._queue = queue
        self._idempotency = idempotency
        self._keep_for = keep_for
        self._window = window
        self._pending: list[Finished] = []
        self._timer: asyncio.TimerHandle | None = None
        self._sending: set[asyncio.Task[None]] = set()

    @property
    def pending(self) -> int:
        return len(self._pending)

    def add(self, finished: Finished) -> None:
        """Acknowledge ``finished`` with the next batch (sent at once when it is full)."""
        self._pending.append(finished)
        if len(self._pending) >= SQS_BATCH_LIMIT:
            self._send_full_batches()
        elif self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(self._window, self._send_all)

    def _send_full_batches(self) -> None:
        while len(self._pending) >= SQS_BATCH_LIMIT:
            self._start(self._take(SQS_BATCH_LIMIT))
        if not self._pending:
            self._cancel_timer()

    def _send_all(self) -> None:
        self._timer = None
        while self._pending:
            self._start(self._take(SQS_BATCH_LIMIT))

    def _take(self, count: int) -> list[Finished]:
        batch, self._pending = self._pending[:count], self._pending[count:]
        return batch

    def _start(self, batch: list[Finished]) -> None:
        task = asyncio.create_task(self._acknowledge(batch))
        self._sending.add(task)
        task.add_done_callback(self._sent)

    def _sent(self, task: asyncio.Task[None]) -> None:
        self._sending.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.error(
                "acknowledging a batch of %s failed", self._consumer, exc_info=task.exception()
            )

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    async def flush(self) -> None:
        """Acknowledge everything finished so far, and wait until it is."""
        self._cancel_timer()
        self._send_all()
        while self._sending:
            await asyncio.gather(*self._sending, return_exceptions=True)

    async def _acknowledge(self, batch: list[Finished]) -> None:
        due = [item.completion_due for item in batch if item.completion_due is not None]
        if due:
            try:
                await self._idempotency.complete_many(self._consumer, due, keep_for=self._keep_for)
            except EventsError:
                logger.warning(
                    "could not record %d handled events of %s as handled",
                    len(due),
                    self._consumer,
                    exc_info=True,
                )
        await self._queue.delete([item.message for item in batch])
