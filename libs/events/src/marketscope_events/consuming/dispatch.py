"""Handling one received message: decode and upcast it, claim it for idempotency, run
its handler under a trace span with a visibility heartbeat, and say what happened.

Terminal failures leave the message visible at once, so the queue's redrive policy moves
it to the DLQ after maxReceiveCount; transient ones leave it invisible for a backoff.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from opentelemetry import trace

from marketscope_events.catalog import Catalog, DecodedEvent
from marketscope_events.consuming.idempotency.base import IdempotencyStore
from marketscope_events.consuming.messages import envelope_from_body
from marketscope_events.consuming.queue import ConsumerQueue, Message
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
from marketscope_events.timeutil import Clock
from marketscope_events.tracing import context_from_traceparent, tracer

logger = logging.getLogger(__name__)

Handler = Callable[[DecodedEvent[Any]], Awaitable[None]]
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


def retry_delay(receive_count: int, *, base_seconds: float, max_seconds: float) -> int:
    """Exponential backoff with full jitter over the receive count, in whole seconds."""
    ceiling = min(max_seconds, base_seconds * 2 ** max(receive_count - 1, 0))
    return int(random.uniform(ceiling / 2, ceiling))


class Dispatcher:
    """Runs the handler registered for each message's event type."""

    def __init__(
        self,
        consumer: str,
        queue: ConsumerQueue,
        idempotency: IdempotencyStore,
        *,
        catalog: Catalog,
        clock: Clock,
        visibility_timeout: int,
        claim_for: timedelta,
        keep_for: timedelta,
        retry_base_seconds: float,
        retry_max_seconds: float,
    ) -> None:
        self.consumer = consumer
        self._queue = queue
        self._idempotency = idempotency
        self._catalog = catalog
        self._clock = clock
        self._visibility_timeout = visibility_timeout
        self._claim_for = claim_for
        self._keep_for = keep_for
        self._retry_base_seconds = retry_base_seconds
        self._retry_max_seconds = retry_max_seconds
        self.handlers: dict[str, Handler] = {}

    def on(self, event_name: str, handler: Handler) -> None:
        self._catalog.spec(event_name)
        self.handlers[event_name] = handler

    async def dispatch(self, message: Message) -> MessageReport:
        try:
            return await self._handle(message)
        except Exception as exc:
            # Last line of defence: the consumer never dies on one message.
            return await self._fail(message, 1, None, None, exc, terminal=False)

    async def _handle(self, message: Message) -> MessageReport:
        message_id = str(message.get("MessageId", "?"))
        receive_count = int(message.get("Attributes", {}).get("ApproximateReceiveCount", "1"))
        event_type: str | None = None
        event_id: str | None = None
        try:
            envelope = envelope_from_body(str(message.get("Body", "")))
            event_type, event_id = envelope.type, envelope.id
            decoded = self._catalog.decode(envelope)
            handler = self.handlers.get(decoded.envelope.event_type.name)
            if handler is None:
                raise NoHandlerError(self.consumer, decoded.envelope.event_type.name)
            await self._idempotency.begin(self.consumer, envelope.id, claim_for=self._claim_for)
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
            await self._idempotency.complete(self.consumer, envelope.id, keep_for=self._keep_for)
        except EventsError:
            # Handled all the same: deleting it beats running the handler again later.
            logger.warning("could not record %s as handled", envelope.id, exc_info=True)
        return MessageReport(
            message_id, Outcome.HANDLED, receive_count, event_type, event_id, lag_ms=lag_ms
        )

    async def _run_handler(
        self, handler: Handler, decoded: DecodedEvent[Any], message: Message
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
                    "messaging.consumer.group.name": self.consumer,
                    "cloudevents.event_type": envelope.type,
                },
            ):
                await handler(decoded)
        finally:
            heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await heartbeat

    async def _heartbeat(self, receipt_handle: str) -> None:
        interval = max(self._visibility_timeout / 2, 0.5)
        while True:
            await asyncio.sleep(interval)
            await self._queue.set_visibility(receipt_handle, self._visibility_timeout)

    async def _release_claim(self, event_id: str) -> None:
        try:
            await self._idempotency.release(self.consumer, event_id)
        except EventsError:
            # The claim then lapses after claim_for; the redelivery retries after that.
            logger.warning("could not release the claim on %s", event_id, exc_info=True)

    async def _fail(
        self,
        message: Message,
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
                extra={"consumer": self.consumer, "event_id": event_id, "reason": reason},
            )
        else:
            delay = retry_delay(
                receive_count,
                base_seconds=self._retry_base_seconds,
                max_seconds=self._retry_max_seconds,
            )
            logger.warning(
                "transient failure on %s, retrying in %ds: %s",
                described,
                delay,
                reason,
                exc_info=not isinstance(exc, EventsError),
            )
        await self._queue.set_visibility(message["ReceiptHandle"], delay)
        outcome = Outcome.REJECTED if terminal else Outcome.RETRY
        return MessageReport(
            message_id, outcome, receive_count, event_type, event_id, reason=reason
        )
