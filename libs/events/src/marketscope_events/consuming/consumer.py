"""An asyncio SQS consumer with per-message outcomes.

Long polls batches of up to 10, runs each message's handler under a concurrency bound,
extends the visibility of messages whose handlers run long, deletes only what was handled
(in batches, across receives, with the completions of their idempotency records; see
`marketscope_events.consuming.acknowledging`), and never dies on a bad message: terminal
failures are left to reach the DLQ through the redrive policy, transient ones come back
after an exponential backoff.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from marketscope_events.catalog import CATALOG, Catalog
from marketscope_events.consuming.acknowledging import Acknowledger, Finished
from marketscope_events.consuming.dispatch import Dispatcher, Handler, NoHandlerError
from marketscope_events.consuming.idempotency.base import IdempotencyStore
from marketscope_events.consuming.queue import ConsumerQueue, Message
from marketscope_events.consuming.raw import RawRoute
from marketscope_events.consuming.reports import MessageReport
from marketscope_events.timeutil import Clock, utc_now

if TYPE_CHECKING:
    from opentelemetry.trace import Tracer
    from types_aiobotocore_sqs import SQSClient

logger = logging.getLogger(__name__)

ReportSink = Callable[[MessageReport], None]
__all__ = ["ConsumerSettings", "Handler", "NoHandlerError", "SqsConsumer"]


@dataclass(frozen=True)
class ConsumerSettings:
    name: str
    queue_url: str
    batch_size: int = 10
    # Also bounds how long stop() waits for the poll in flight.
    wait_time_seconds: int = 10
    visibility_timeout: int = 30
    # Handlers wait on I/O: three batches in hand keeps every receive a full batch.
    concurrency: int = 30
    # How long a claim outlives a worker that died handling it. By default two thirds of
    # the visibility timeout: the heartbeat renews both every third, and a dead worker's
    # message comes back after its claim has lapsed (a longer claim would find it still
    # held, use up its receives and send it to the DLQ).
    claim_for: timedelta | None = None
    keep_for: timedelta = timedelta(days=7)
    retry_base_seconds: float = 2.0
    retry_max_seconds: float = 300.0
    # Handled messages wait at most this long for nine more to be acknowledged with
    # (completions written and the messages deleted in one request each).
    acknowledge_within: float = 0.2

    @property
    def claim_duration(self) -> timedelta:
        if self.claim_for is not None:
            return self.claim_for
        return timedelta(seconds=self.visibility_timeout * 2 / 3)


class SqsConsumer:
    def __init__(
        self,
        sqs: SQSClient,
        settings: ConsumerSettings,
        idempotency: IdempotencyStore,
        *,
        catalog: Catalog = CATALOG,
        clock: Clock = utc_now,
        on_report: ReportSink | None = None,
        tracer: Tracer | None = None,
    ) -> None:
        """``tracer`` makes the consumer spans (by default the running service's, see
        `marketscope_events.tracing.use_tracer_provider`)."""
        if not 1 <= settings.batch_size <= 10:
            raise ValueError("batch_size must be between 1 and 10")
        self._queue = ConsumerQueue(sqs, settings.queue_url)
        self.settings = settings
        self._dispatcher = Dispatcher(
            settings.name,
            self._queue,
            idempotency,
            catalog=catalog,
            clock=clock,
            visibility_timeout=settings.visibility_timeout,
            claim_for=settings.claim_duration,
            keep_for=settings.keep_for,
            retry_base_seconds=settings.retry_base_seconds,
            retry_max_seconds=settings.retry_max_seconds,
            tracer=tracer,
        )
        self._on_report = on_report
        self._acknowledger = Acknowledger(
            settings.name,
            self._queue,
            idempotency,
            keep_for=settings.keep_for,
            window=settings.acknowledge_within,
        )
        self._stopping = asyncio.Event()
        self._slots = asyncio.Semaphore(settings.concurrency)

    def on(self, event_name: str, handler: Handler) -> None:
        self._dispatcher.on(event_name, handler)

    def route_raw(self, route: RawRoute) -> None:
        """Handle messages that are not CloudEvents (an EventBridge rule's, an alarm's)
        with the first registered route whose ``matches`` accepts them. Reports name them
        ``raw:<route name>``; without a matching route they are rejected as malformed."""
        self._dispatcher.route_raw(route)

    def stop(self) -> None:
        """Stop receiving; `run` returns once the messages in hand are finished."""
        self._stopping.set()

    def install_signal_handlers(self) -> None:
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, self.stop)

    async def run(self) -> None:
        self._stopping.clear()
        batches: set[asyncio.Task[None]] = set()
        try:
            while not self._stopping.is_set():
                reserved = await self._reserve_slots()
                if reserved == 0:
                    break
                messages = await self._receive_unless_stopped(reserved)
                for _ in range(reserved - len(messages)):
                    self._slots.release()
                if messages:
                    batch = asyncio.create_task(self._process_and_release(messages))
                    batches.add(batch)
                    batch.add_done_callback(batches.discard)
        finally:
            if batches:
                await asyncio.gather(*batches, return_exceptions=True)
            await self._acknowledger.flush()

    async def poll_once(self, *, wait_time_seconds: int | None = None) -> list[MessageReport]:
        """Receive one batch and handle it fully (a one-shot pass, for jobs and tests)."""
        wait = self.settings.wait_time_seconds if wait_time_seconds is None else wait_time_seconds
        messages = await self._queue.receive(
            self.settings.batch_size,
            wait_seconds=wait,
            visibility_timeout=self.settings.visibility_timeout,
        )
        return await self.process_batch(messages)

    async def _reserve_slots(self) -> int:
        stop = asyncio.create_task(self._stopping.wait())
        first = asyncio.create_task(self._slots.acquire())
        await asyncio.wait({stop, first}, return_when=asyncio.FIRST_COMPLETED)
        stop.cancel()
        if not first.done() or first.cancelled():
            first.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await first
            return 0
        reserved = 1
        while reserved < self.settings.batch_size and not self._slots.locked():
            await self._slots.acquire()
            reserved += 1
        if self._stopping.is_set():
            for _ in range(reserved):
                self._slots.release()
            return 0
        return reserved

    async def _receive_unless_stopped(self, count: int) -> list[Message]:
        # A long poll is let finish rather than cancelled: the queue would still hand the
        # next message to the abandoned poll and hide it for a visibility timeout. What
        # arrives after stop() is released at once, unhandled and undeleted.
        try:
            messages = await self._queue.receive(
                count,
                wait_seconds=self.settings.wait_time_seconds,
                visibility_timeout=self.settings.visibility_timeout,
            )
        except (ClientError, BotoCoreError):
            logger.exception("receive from %s failed", self.settings.queue_url)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), timeout=1.0)
            return []
        if messages and self._stopping.is_set():
            await self._queue.release(messages)
            return []
        return messages

    async def _process_and_release(self, messages: list[Message]) -> None:
        await asyncio.gather(*(self._handle_message(message, True) for message in messages))

    async def process_batch(self, messages: Sequence[Message]) -> list[MessageReport]:
        """Handle messages concurrently; return once the handled ones are deleted."""
        reports = await asyncio.gather(
            *(self._handle_message(message, False) for message in messages)
        )
        await self._acknowledger.flush()
        return reports

    async def _handle_message(self, message: Message, release_slot: bool) -> MessageReport:
        try:
            result = await self._dispatcher.dispatch(message)
        finally:
            if release_slot:
                self._slots.release()
        if isinstance(result, Finished):
            # Reported when handled; deleted with the next acknowledgement batch.
            self._acknowledger.add(result)
            report = result.report
        else:
            report = result
        if self._on_report is not None:
            self._on_report(report)
        return report
