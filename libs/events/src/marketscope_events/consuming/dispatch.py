"""Handling one received message: decode and upcast it (or, when it is not a CloudEvent,
find its raw route), claim it for idempotency, run its handler under a trace span with a
visibility heartbeat, and say what happened.

Terminal failures leave the message visible at once, so the queue's redrive policy moves
it to the DLQ after maxReceiveCount; transient ones leave it invisible for a backoff.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from opentelemetry import trace
from opentelemetry.context import Context

from marketscope_events.catalog import Catalog, DecodedEvent
from marketscope_events.consuming.acknowledging import Finished
from marketscope_events.consuming.handling import Handling, reset_handling, set_handling
from marketscope_events.consuming.idempotency.base import IdempotencyStore
from marketscope_events.consuming.messages import envelope_from_body
from marketscope_events.consuming.queue import ConsumerQueue, Message
from marketscope_events.consuming.raw import RawMessage, RawRoute, first_match
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
from marketscope_events.tracing import context_from_traceparent, events_tracer

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


@dataclass(frozen=True)
class _Job:
    """One message ready to run: what to claim, what to run, and how to trace it."""

    message: Message
    receive_count: int
    event_type: str
    event_id: str
    claim: str
    run: Callable[[], Awaitable[None]]
    span_name: str
    span_context: Context | None
    span_attributes: Mapping[str, str]
    event_time: datetime | None = None


def retry_delay(receive_count: int, *, base_seconds: float, max_seconds: float) -> int:
    """Exponential backoff with full jitter over the receive count, in whole seconds."""
    ceiling = min(max_seconds, base_seconds * 2 ** max(receive_count - 1, 0))
    return int(random.uniform(ceiling / 2, ceiling))


class Dispatcher:
    """Runs the handler registered for each message's event type, or the first raw route
    that matches a message that is not a CloudEvent."""

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
        tracer: trace.Tracer | None = None,
    ) -> None:
        self.consumer = consumer
        # Taken when the consumer is made, in the context of the service that makes it.
        self._tracer = tracer or events_tracer()
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
        self.raw_routes: list[RawRoute] = []

    def on(self, event_name: str, handler: Handler) -> None:
        self._catalog.spec(event_name)
        self.handlers[event_name] = handler

    def route_raw(self, route: RawRoute) -> None:
        if any(existing.name == route.name for existing in self.raw_routes):
            raise ValueError(f"{self.consumer} already has a raw route named {route.name!r}")
        self.raw_routes.append(route)

    async def dispatch(self, message: Message) -> MessageReport | Finished:
        """A failure's report (the message stays on the queue), or the message finished:
        handled, or a duplicate of one handled before, to acknowledge."""
        try:
            return await self._handle(message)
        except Exception as exc:
            # Last line of defence: the consumer never dies on one message.
            return await self._fail(message, 1, None, None, exc, terminal=False)

    async def _handle(self, message: Message) -> MessageReport | Finished:
        receive_count = int(message.get("Attributes", {}).get("ApproximateReceiveCount", "1"))
        try:
            envelope = envelope_from_body(str(message.get("Body", "")))
        except MalformedEnvelopeError as exc:
            return await self._handle_raw(message, receive_count, exc)
        event_type, event_id = envelope.type, envelope.id
        try:
            decoded = self._catalog.decode(envelope)
            handler = self.handlers.get(decoded.envelope.event_type.name)
            if handler is None:
                raise NoHandlerError(self.consumer, decoded.envelope.event_type.name)
        except TERMINAL_ERRORS as exc:
            return await self._fail(
                message, receive_count, event_type, event_id, exc, terminal=True
            )
        except Exception as exc:
            return await self._fail(
                message, receive_count, event_type, event_id, exc, terminal=False
            )
        job = _Job(
            message,
            receive_count,
            event_type,
            event_id,
            claim=envelope.id,
            run=lambda: handler(decoded),
            span_name=f"{envelope.event_type.name} process",
            span_context=context_from_traceparent(envelope.traceparent),
            span_attributes={
                "messaging.message.id": envelope.id,
                "cloudevents.event_type": envelope.type,
            },
            event_time=envelope.time,
        )
        return await self._run_job(job)

    async def _handle_raw(
        self, message: Message, receive_count: int, malformed: MalformedEnvelopeError
    ) -> MessageReport | Finished:
        """Not a CloudEvent: the first raw route that matches takes it; with none, it is
        as malformed as it was always (terminal)."""
        raw = RawMessage.from_sqs(message, receive_count)
        try:
            route = first_match(self.raw_routes, raw)
        except Exception as exc:
            return await self._fail(message, receive_count, None, None, exc, terminal=True)
        if route is None:
            return await self._fail(message, receive_count, None, None, malformed, terminal=True)
        try:
            key = route.idempotency_key(raw)
            if not key:
                raise ValueError("the key is empty")
        except Exception as exc:
            problem = TerminalHandlerError(f"no idempotency key for {route.event_type}: {exc}")
            return await self._fail(
                message, receive_count, route.event_type, None, problem, terminal=True
            )
        job = _Job(
            message,
            receive_count,
            route.event_type,
            key,
            claim=route.claim_key(key),
            run=lambda: route.handler(raw),
            span_name=f"{route.name} process",
            span_context=context_from_traceparent(_string_attribute(raw, "traceparent")),
            span_attributes={
                "messaging.message.id": raw.message_id,
                "marketscope.raw_route": route.name,
            },
        )
        return await self._run_job(job)

    async def _run_job(self, job: _Job) -> MessageReport | Finished:
        message, receive_count = job.message, job.receive_count
        message_id = str(message.get("MessageId", "?"))
        try:
            owner = await self._idempotency.begin(
                self.consumer, job.claim, claim_for=self._claim_for
            )
        except EventAlreadyHandledError:
            duplicate = MessageReport(
                message_id, Outcome.DUPLICATE, receive_count, job.event_type, job.event_id
            )
            return Finished(message, duplicate)
        except Exception as exc:
            return await self._fail(
                message, receive_count, job.event_type, job.event_id, exc, terminal=False
            )

        handling = Handling(self.consumer, job.claim, owner, self._keep_for, self._idempotency)
        try:
            await self._run_handler(job, handling)
            # Publish-to-handled ends when the handler does, not after the bookkeeping.
            lag_ms = (
                None
                if job.event_time is None
                else (self._clock() - job.event_time).total_seconds() * 1000
            )
        except BaseException as exc:
            await self._release_claim(job.claim, owner)
            if isinstance(exc, TerminalHandlerError):
                return await self._fail(
                    message, receive_count, job.event_type, job.event_id, exc, terminal=True
                )
            if isinstance(exc, Exception):
                return await self._fail(
                    message, receive_count, job.event_type, job.event_id, exc, terminal=False
                )
            raise
        handled = MessageReport(
            message_id,
            Outcome.HANDLED,
            receive_count,
            job.event_type,
            job.event_id,
            lag_ms=lag_ms,
        )
        # The completion is written with the batch the message is acknowledged in.
        return Finished(message, handled, None if handling.completed else job.claim)

    async def _run_handler(self, job: _Job, handling: Handling) -> None:
        heartbeat = asyncio.create_task(
            self._heartbeat(str(job.message["ReceiptHandle"]), job.claim, handling.owner)
        )
        handling_token = set_handling(handling)
        try:
            with self._tracer.start_as_current_span(
                job.span_name,
                context=job.span_context,
                kind=trace.SpanKind.CONSUMER,
                attributes={
                    "messaging.system": "aws_sqs",
                    "messaging.operation": "process",
                    "messaging.consumer.group.name": self.consumer,
                    **job.span_attributes,
                },
            ):
                await job.run()
        finally:
            reset_handling(handling_token)
            heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await heartbeat

    async def _heartbeat(self, receipt_handle: str, claim: str, owner: str) -> None:
        """While the handler runs: the message stays invisible and the claim held, so a
        short ``claim_for`` lapses soon after a worker dies, never under a live one. A beat
        every third of the timeout leaves two thirds for a slow ChangeMessageVisibility."""
        interval = max(self._visibility_timeout / 3, 0.5)
        while True:
            await asyncio.sleep(interval)
            await self._queue.set_visibility(receipt_handle, self._visibility_timeout)
            try:
                await self._idempotency.extend(
                    self.consumer, claim, claim_for=self._claim_for, owner=owner
                )
            except EventsError:
                logger.warning("could not extend the claim on %s", claim, exc_info=True)

    async def _release_claim(self, event_id: str, owner: str) -> None:
        try:
            await self._idempotency.release(self.consumer, event_id, owner=owner)
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


def _string_attribute(message: RawMessage, name: str) -> str | None:
    value = message.message_attributes.get(name)
    if isinstance(value, Mapping) and isinstance(value.get("StringValue"), str):
        return str(value["StringValue"])
    return None
