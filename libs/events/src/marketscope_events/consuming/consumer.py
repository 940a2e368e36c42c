"""An asyncio SQS consumer with per-message outcomes.

Long polls batches of up to 10, runs each message's handler under a concurrency bound,
extends the visibility of messages whose handlers run long, deletes only what was handled,
and never dies on a bad message: terminal failures are left to reach the DLQ through the
redrive policy, transient ones come back after an exponential backoff.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import signal
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from opentelemetry import trace

from marketscope_events.catalog import CATALOG, Catalog, DecodedEvent
from marketscope_events.consuming.idempotency.base import IdempotencyStore
from marketscope_events.consuming.messages import envelope_from_body
from marketscope_events.consuming.reports import MessageReport, Outcome
from marketscope_events.errors import (
    EventAlreadyHandledError,
    EventsError,
    InvalidEventDataError,
    MalformedEnvelopeError,
    TerminalHandlerError,
    UnknownEventTypeError,
    UpcastError,
)
from marketscope_events.timeutil import Clock, utc_now
from marketscope_events.tracing import context_from_traceparent, tracer

logger = logging.getLogger(__name__)

Handler = Callable[[DecodedEvent[Any]], Awaitable[None]]
ReportSink = Callable[[MessageReport], None]
TERMINAL_ERRORS = (
    MalformedEnvelopeError,
    UnknownEventTypeError,
    InvalidEventDataError,
    UpcastError,
    TerminalHandlerError,
)


class NoHandlerError(TerminalHandlerError):
    def __init__(self, consumer: str, event_name: str) -> None:
        super().__init__(f"{consumer} has no handler for {event_name}")


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
    claim_for: timedelta = timedelta(minutes=15)
    keep_for: timedelta = timedelta(days=7)
    retry_base_seconds: float = 2.0
    retry_max_seconds: float = 300.0


class SqsConsumer:
    def __init__(
        self,
        sqs: Any,
        settings: ConsumerSettings,
        idempotency: IdempotencyStore,
        *,
        catalog: Catalog = CATALOG,
        clock: Clock = utc_now,
        on_report: ReportSink | None = None,
    ) -> None:
        if not 1 <= settings.batch_size <= 10:
            raise ValueError("batch_size must be between 1 and 10")
        self._sqs = sqs
        self.settings = settings
        self._idempotency = idempotency
        self._catalog = catalog
        self._clock = clock
        self._on_report = on_report
        self._handlers: dict[str, Handler] = {}
        self._stopping = asyncio.Event()
        self._slots = asyncio.Semaphore(settings.concurrency)

    def on(self, event_name: str, handler: Handler) -> None:
        self._catalog.spec(event_name)
        self._handlers[event_name] = handler

    def handler(self, event_name: str) -> Callable[[Handler], Handler]:
        def register(function: Handler) -> Handler:
            self.on(event_name, function)
            return function

        return register

    def stop(self) -> None:
        """Stop receiving; `run` returns once the messages in hand are finished."""
        self._stopping.set()

    def install_signal_handlers(self) -> None:
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, self.stop)

    async def run(self) -> None:
        self._stopping.clear()
        batches: set[asyncio.Task[list[MessageReport]]] = set()
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

    async def poll_once(self, *, wait_time_seconds: int | None = None) -> list[MessageReport]:
        """Receive one batch and handle it fully (a one-shot pass, for jobs and tests)."""
        messages = await self._receive(self.settings.batch_size, wait_time_seconds)
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

    async def _receive_unless_stopped(self, count: int) -> list[dict[str, Any]]:
        # A long poll is let finish rather than cancelled: the queue would still hand the
        # next message to the abandoned poll and hide it for a visibility timeout. What
        # arrives after stop() is released at once, unhandled and undeleted.
        try:
            messages = await self._receive(count, None)
        except (ClientError, BotoCoreError):
            logger.exception("receive from %s failed", self.settings.queue_url)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), timeout=1.0)
            return []
        if messages and self._stopping.is_set():
            await self._release(messages)
            return []
        return messages

    async def _release(self, messages: Sequence[dict[str, Any]]) -> None:
        try:
            await self._sqs.change_message_visibility_batch(
                QueueUrl=self.settings.queue_url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"], "VisibilityTimeout": 0}
                    for i, m in enumerate(messages)
                ],
            )
        except (ClientError, BotoCoreError):
            logger.warning("could not release messages received while stopping", exc_info=True)

    async def _receive(self, count: int, wait_time_seconds: int | None) -> list[dict[str, Any]]:
        wait = self.settings.wait_time_seconds if wait_time_seconds is None else wait_time_seconds
        response = await self._sqs.receive_message(
            QueueUrl=self.settings.queue_url,
            MaxNumberOfMessages=count,
            WaitTimeSeconds=wait,
            VisibilityTimeout=self.settings.visibility_timeout,
            MessageSystemAttributeNames=["ApproximateReceiveCount"],
            MessageAttributeNames=["All"],
        )
        messages: list[dict[str, Any]] = response.get("Messages", [])
        return messages

    async def _process_and_release(self, messages: list[dict[str, Any]]) -> list[MessageReport]:
        return await self.process_batch(messages, release_slots=True)

    async def process_batch(
        self, messages: Sequence[dict[str, Any]], *, release_slots: bool = False
    ) -> list[MessageReport]:
        """Handle messages concurrently; delete the handled ones in batches as they finish."""
        tasks = {
            asyncio.create_task(self._handle_message(message, release_slots)): message
            for message in messages
        }
        reports: list[MessageReport] = []
        pending = set(tasks)
        while pending:
            # Flush deletions at least every third of the visibility timeout, so finished
            # messages are not redelivered while a slow sibling is still running.
            done, pending = await asyncio.wait(
                pending, timeout=self.settings.visibility_timeout / 3
            )
            finished = [(task.result(), tasks[task]) for task in done]
            await self._delete([msg for report, msg in finished if report.deletes_message])
            for report, _ in finished:
                reports.append(report)
                if self._on_report is not None:
                    self._on_report(report)
        return reports

    async def _handle_message(self, message: dict[str, Any], release_slot: bool) -> MessageReport:
        try:
            return await self._handle(message)
        except Exception as exc:
            # Last line of defence: the consumer never dies on one message.
            return await self._fail(message, 1, None, None, exc, terminal=False)
        finally:
            if release_slot:
                self._slots.release()

    async def _handle(self, message: dict[str, Any]) -> MessageReport:
        message_id = str(message.get("MessageId", "?"))
        receive_count = int(message.get("Attributes", {}).get("ApproximateReceiveCount", "1"))
        event_type: str | None = None
        event_id: str | None = None
        try:
            envelope = envelope_from_body(str(message.get("Body", "")))
            event_type, event_id = envelope.type, envelope.id
            decoded = self._catalog.decode(envelope)
            handler = self._handlers.get(decoded.envelope.event_type.name)
            if handler is None:
                raise NoHandlerError(self.settings.name, decoded.envelope.event_type.name)
            await self._idempotency.begin(
                self.settings.name, envelope.id, claim_for=self.settings.claim_for
            )
        except EventAlreadyHandledError:
            return MessageReport(message_id, Outcome.DUPLICATE, receive_count, event_type, event_id)
        except TERMINAL_ERRORS as exc:
            return await self._fail(
                message, receive_count, event_type, event_id, exc, terminal=True
            )
        except Exception as exc:
            return await self._fail(
                message, receive_count, event_type, event_id, exc, terminal=False
            )

        try:
            await self._run_handler(handler, decoded, message)
            # Publish-to-handled ends when the handler does, not after the bookkeeping.
            lag_ms = (self._clock() - envelope.time).total_seconds() * 1000
        except BaseException as exc:
            await self._release_claim(envelope.id)
            if isinstance(exc, TerminalHandlerError):
                return await self._fail(
                    message, receive_count, event_type, event_id, exc, terminal=True
                )
            if isinstance(exc, Exception):
                return await self._fail(
                    message, receive_count, event_type, event_id, exc, terminal=False
                )
            raise
        try:
            await self._idempotency.complete(
                self.settings.name, envelope.id, keep_for=self.settings.keep_for
            )
        except EventsError:
            # Handled all the same: deleting it beats running the handler again later.
            logger.warning("could not record %s as handled", envelope.id, exc_info=True)
        return MessageReport(
            message_id, Outcome.HANDLED, receive_count, event_type, event_id, lag_ms=lag_ms
        )

    async def _run_handler(
        self, handler: Handler, decoded: DecodedEvent[Any], message: dict[str, Any]
    ) -> None:
        envelope = decoded.envelope
        heartbeat = asyncio.create_task(self._heartbeat(str(message["ReceiptHandle"])))
        try:
            with tracer.start_as_current_span(
                f"{envelope.event_type.name} process",
                context=context_from_traceparent(envelope.traceparent),
                kind=trace.SpanKind.CONSUMER,
                attributes={
                    "messaging.system": "aws_sqs",
                    "messaging.operation": "process",
                    "messaging.message.id": envelope.id,
                    "messaging.consumer.group.name": self.settings.name,
                    "cloudevents.event_type": envelope.type,
                },
            ):
                await handler(decoded)
        finally:
            heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await heartbeat

    async def _heartbeat(self, receipt_handle: str) -> None:
        interval = max(self.settings.visibility_timeout / 2, 0.5)
        while True:
            await asyncio.sleep(interval)
            try:
                await self._sqs.change_message_visibility(
                    QueueUrl=self.settings.queue_url,
                    ReceiptHandle=receipt_handle,
                    VisibilityTimeout=self.settings.visibility_timeout,
                )
            except (ClientError, BotoCoreError):
                logger.warning("could not extend visibility of a running message", exc_info=True)

    async def _release_claim(self, event_id: str) -> None:
        try:
            await self._idempotency.release(self.settings.name, event_id)
        except EventsError:
            # The claim then lapses after claim_for; the redelivery retries after that.
            logger.warning("could not release the claim on %s", event_id, exc_info=True)

    async def _fail(
        self,
        message: dict[str, Any],
        receive_count: int,
        event_type: str | None,
        event_id: str | None,
        exc: Exception,
        *,
        terminal: bool,
    ) -> MessageReport:
        """Leave the message on the queue: terminal failures visible again at once (the
        redrive policy moves them to the DLQ after maxReceiveCount), transient ones after
        a backoff."""
        reason = f"{type(exc).__name__}: {exc}"
        message_id = str(message.get("MessageId", "?"))
        described = f"message {message_id} ({event_type or 'unparsed'}, receive {receive_count})"
        if terminal:
            delay = 0
            logger.error(
                "rejected %s: %s; it goes to the DLQ after the queue's maxReceiveCount",
                described,
                reason,
                extra={"consumer": self.settings.name, "event_id": event_id, "reason": reason},
            )
        else:
            delay = self.retry_delay(receive_count)
            logger.warning(
                "transient failure on %s, retrying in %ds: %s",
                described,
                delay,
                reason,
                exc_info=not isinstance(exc, EventsError),
            )
        await self._set_visibility(message, delay)
        outcome = Outcome.REJECTED if terminal else Outcome.RETRY
        return MessageReport(
            message_id, outcome, receive_count, event_type, event_id, reason=reason
        )

    def retry_delay(self, receive_count: int) -> int:
        """Exponential backoff with full jitter over the receive count, in whole seconds."""
        ceiling = min(
            self.settings.retry_max_seconds,
            self.settings.retry_base_seconds * 2 ** max(receive_count - 1, 0),
        )
        return int(random.uniform(ceiling / 2, ceiling))

    async def _set_visibility(self, message: dict[str, Any], seconds: int) -> None:
        try:
            await self._sqs.change_message_visibility(
                QueueUrl=self.settings.queue_url,
                ReceiptHandle=message["ReceiptHandle"],
                VisibilityTimeout=seconds,
            )
        except (ClientError, BotoCoreError):
            logger.warning("could not change visibility; the queue's timeout applies")

    async def _delete(self, messages: Sequence[dict[str, Any]]) -> None:
        for start in range(0, len(messages), 10):
            chunk = messages[start : start + 10]
            try:
                response = await self._sqs.delete_message_batch(
                    QueueUrl=self.settings.queue_url,
                    Entries=[
                        {"Id": str(index), "ReceiptHandle": message["ReceiptHandle"]}
                        for index, message in enumerate(chunk)
                    ],
                )
            except (ClientError, BotoCoreError):
                logger.exception("delete failed; the messages will be redelivered (idempotent)")
                continue
            for failure in response.get("Failed", []):
                logger.warning("delete of a handled message failed: %s", failure)
