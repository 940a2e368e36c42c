"""Log lines to CloudWatch Logs: ``/marketscope/<service>``, one stream per instance.

A logging call never waits for AWS. `ShippingHandler` (the standard library's
``QueueHandler`` over a bounded queue) formats the record as the JSON line stdout gets and
puts it in the queue; when the queue is full the line is dropped and counted, never
blocking the request that logged it. `LogShipper.run`, a task of the app's lifespan,
drains the queue every second into ``PutLogEvents`` batches with the app's own
aiobotocore client, within the call's limits: 10,000 events, 1,048,576 bytes counting 26
bytes per event, a 24-hour span, in time order. What AWS refuses for a while is kept (as
far as the buffer allows) and sent with the next batch.

The AWS SDK's own records are not shipped: sending them would log a request per request.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import queue
import socket
import uuid
from collections import deque
from dataclasses import dataclass
from logging.handlers import QueueHandler
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from marketscope_platform.topology import log_group_name
from marketscope_servicekit.request_context import current_service
from marketscope_servicekit.stopping import flush_until_stopped, log_unsent

MAX_EVENTS_PER_CALL = 10_000
MAX_BYTES_PER_CALL = 1_048_576
EVENT_OVERHEAD_BYTES = 26
# A single event is at most 256 KiB with its overhead: longer lines are cut.
MAX_EVENT_BYTES = 262_144 - EVENT_OVERHEAD_BYTES
MAX_SPAN_MS = 24 * 3600 * 1000
_SDK_LOGGERS = ("botocore", "aiobotocore", "urllib3", "s3transfer")
_CUT_MARK = "...[cut]"

logger = logging.getLogger(__name__)


def instance_stream(instance_id: str | None = None) -> str:
    """One stream per running instance: the host, the process and a random suffix (a
    restarted process on the same host is a new instance)."""
    name = instance_id or f"{socket.gethostname()}-{os.getpid()}"
    return f"{name}-{uuid.uuid4().hex[:8]}"


@dataclass(frozen=True)
class LogEvent:
    timestamp_ms: int
    message: str

    @property
    def size(self) -> int:
        return len(self.message.encode()) + EVENT_OVERHEAD_BYTES


def _fitted(message: str) -> str:
    encoded = message.encode()
    if len(encoded) <= MAX_EVENT_BYTES:
        return message
    room = MAX_EVENT_BYTES - len(_CUT_MARK.encode())
    return encoded[:room].decode(errors="ignore") + _CUT_MARK


class ShippingHandler(QueueHandler):
    """Formats each record and queues it for `LogShipper`; a full queue drops it. Lines
    another service of the same process logged are not this service's."""

    def __init__(self, service: str, capacity: int = 10_000) -> None:
        self.lines: queue.Queue[LogEvent] = queue.Queue(maxsize=capacity)
        super().__init__(self.lines)
        self.service = service
        self.dropped = 0
        self.addFilter(self._ours)

    def _ours(self, record: logging.LogRecord) -> bool:
        if record.name.startswith(_SDK_LOGGERS):
            return False
        return current_service() in (None, self.service)

    def prepare(self, record: logging.LogRecord) -> Any:
        return LogEvent(int(record.created * 1000), _fitted(self.format(record)))

    def enqueue(self, record: Any) -> None:
        try:
            self.lines.put_nowait(record)
        except queue.Full:
            self.dropped += 1


def next_batch(pending: deque[LogEvent]) -> list[LogEvent]:
    """Takes from the left of ``pending`` (in time order) the longest run one
    ``PutLogEvents`` call accepts."""
    batch: list[LogEvent] = []
    size = 0
    while pending and len(batch) < MAX_EVENTS_PER_CALL:
        event = pending[0]
        if batch and (
            size + event.size > MAX_BYTES_PER_CALL
            or event.timestamp_ms - batch[0].timestamp_ms > MAX_SPAN_MS
        ):
            break
        batch.append(pending.popleft())
        size += event.size
    return batch


class LogShipper:
    """Sends what `handler` queued to the service's log group, in the instance's stream."""

    def __init__(self, service: str, *, stream: str | None = None, capacity: int = 10_000) -> None:
        self.group = log_group_name(service)
        self.stream = stream or instance_stream()
        self.handler = ShippingHandler(service, capacity)
        self._capacity = capacity
        self._pending: deque[LogEvent] = deque()
        self._stream_ready = False
        self.sent = 0

    @property
    def dropped(self) -> int:
        return self.handler.dropped

    def attach(self, formatter: logging.Formatter) -> None:
        """From now on the root logger's records are queued, formatted by ``formatter``."""
        self.handler.setFormatter(formatter)
        logging.getLogger().addHandler(self.handler)

    def detach(self) -> None:
        logging.getLogger().removeHandler(self.handler)

    def _take_queued(self) -> None:
        while True:
            try:
                event = self.handler.lines.get_nowait()
            except queue.Empty:
                return
            if len(self._pending) >= self._capacity:
                self.handler.dropped += 1  # the oldest unsent lines make room
                self._pending.popleft()
            self._pending.append(event)

    async def _ensure_stream(self, logs: Any) -> None:
        if self._stream_ready:
            return
        try:
            await logs.create_log_stream(logGroupName=self.group, logStreamName=self.stream)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code")
            if code == "ResourceNotFoundException":
                # Provisioning makes the group (with its retention); a bare stack may not.
                with contextlib.suppress(ClientError):
                    await logs.create_log_group(logGroupName=self.group)
                await logs.create_log_stream(logGroupName=self.group, logStreamName=self.stream)
            elif code != "ResourceAlreadyExistsException":
                raise
        self._stream_ready = True

    async def flush(self, logs: Any) -> int:
        """Send everything queued so far; what AWS refuses stays for the next flush."""
        self._take_queued()
        sent = 0
        while self._pending:
            batch = next_batch(self._pending)
            # PutLogEvents wants time order; lines from threads can arrive a little out.
            ordered = sorted(batch, key=lambda event: event.timestamp_ms)
            try:
                await self._ensure_stream(logs)
                await logs.put_log_events(
                    logGroupName=self.group,
                    logStreamName=self.stream,
                    logEvents=[
                        {"timestamp": e.timestamp_ms, "message": e.message} for e in ordered
                    ],
                )
            except (ClientError, BotoCoreError):
                self._pending.extendleft(reversed(batch))
                logger.warning("log lines not shipped; keeping them", exc_info=True)
                break
            sent += len(batch)
        self.sent += sent
        return sent

    async def run(
        self,
        logs: Any,
        stop: asyncio.Event,
        *,
        interval: float = 1.0,
        final_flush_seconds: float = 3.0,
    ) -> None:
        """Flush every ``interval`` seconds until ``stop``, then once more (bounded)."""
        await flush_until_stopped(
            lambda: self.flush(logs),
            stop,
            interval=interval,
            final_flush_seconds=final_flush_seconds,
            on_final_timeout=log_unsent(
                logger,
                "final log flush timed out; %d lines not shipped",
                lambda: len(self._pending),
            ),
        )
