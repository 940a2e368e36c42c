"""OpenTelemetry tracing exported to AWS X-Ray.

Each service app gets its own ``TracerProvider`` (resource ``service.name`` =
``marketscope-<service>``) with X-Ray-compatible trace ids (the first 32 bits are the
epoch seconds, as X-Ray requires), FastAPI server spans and httpx client spans. W3C
``traceparent`` goes out on every instrumented HTTP call; producers put
``current_traceparent()`` into the events they create, and ``SqsConsumer`` continues the
trace on the other side of SNS/SQS.

Which traces are sent is X-Ray's sampling (`sampling`: the first request each second and
5 % of the others by default, the caller's decision for a trace that arrives), and
failed or slow requests go whatever it said (`trace_keeping`).

A span ending only queues it: OpenTelemetry's ``BatchSpanProcessor`` turns the queued
spans into X-Ray segment documents in its own thread, every second (server and consumer
spans, and spans whose parent is remote, are segments; the others are subsegments of
their parent), into a bounded buffer, and a task of the app's lifespan sends them with
``PutTraceSegments`` in batches, the way the X-Ray daemon does. No collector or daemon is
needed, so the embedded emulator (which stores segments) and AWS are served by the same
code.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import httpx
from botocore.exceptions import BotoCoreError, ClientError
from fastapi import FastAPI
from opentelemetry import trace
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
from opentelemetry.sdk.extension.aws.trace import AwsXRayIdGenerator
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.sdk.trace.sampling import Sampler
from opentelemetry.trace import SpanKind, StatusCode

from marketscope_events.tracing import (
    current_traceparent,
    restore_tracer_provider,
    use_tracer_provider,
)
from marketscope_servicekit.request_context import forward_request_id
from marketscope_servicekit.sampling import trace_sampler
from marketscope_servicekit.stopping import flush_until_stopped, log_unsent
from marketscope_servicekit.trace_keeping import DEFAULT_SLOW_SECONDS, KeepFailedOrSlow

__all__ = [
    "Tracing",
    "XRaySegmentExporter",
    "current_traceparent",
    "restore_tracer_provider",
    "segment_document",
    "use_tracer_provider",
    "xray_trace_id",
]

# PutTraceSegments takes a list of documents; the X-Ray daemon sends at most 50 at a time.
MAX_SEGMENTS_PER_CALL = 50
# Spans wait at most this long in the batch processor: the sender's own interval.
BATCH_DELAY_MILLIS = 1000
# Ended spans the batch processor holds before it drops the oldest.
MAX_QUEUED_SPANS = 4096
# Probes would fill the trace map with noise.
EXCLUDED_URLS = "/healthz,/readyz"
_SEGMENT_KINDS = frozenset({SpanKind.SERVER, SpanKind.CONSUMER})

logger = logging.getLogger(__name__)


def xray_trace_id(trace_id: int) -> str:
    """An OpenTelemetry trace id in X-Ray's ``1-<8 hex epoch>-<24 hex>`` form."""
    hex_id = f"{trace_id:032x}"
    return f"1-{hex_id[:8]}-{hex_id[8:]}"


def _attribute(attributes: Mapping[str, Any], *names: str) -> Any:
    # Old and new HTTP semantic conventions name the same thing differently.
    for name in names:
        if name in attributes:
            return attributes[name]
    return None


def _http_section(attributes: Mapping[str, Any]) -> dict[str, Any]:
    request: dict[str, Any] = {}
    method = _attribute(attributes, "http.request.method", "http.method")
    url = _attribute(attributes, "url.full", "http.url")
    if url is None and "url.path" in attributes:
        url = attributes["url.path"]
    if url is None and "http.target" in attributes:
        url = attributes["http.target"]
    if method is not None:
        request["method"] = str(method)
    if url is not None:
        request["url"] = str(url)
    status = _attribute(attributes, "http.response.status_code", "http.status_code")
    section: dict[str, Any] = {}
    if request:
        section["request"] = request
    if status is not None:
        section["response"] = {"status": int(status)}
    return section


def _remote_name(span: ReadableSpan) -> str:
    attributes = span.attributes or {}
    host = _attribute(attributes, "server.address", "net.peer.name")
    port = _attribute(attributes, "server.port", "net.peer.port")
    if host is None:
        return span.name
    return f"{host}:{port}" if port is not None else str(host)


def segment_document(span: ReadableSpan, service: str) -> dict[str, Any]:
    """The X-Ray segment (or independent subsegment) document of a finished span."""
    context = span.get_span_context()
    assert context is not None  # finished SDK spans always carry one
    attributes: Mapping[str, Any] = span.attributes or {}
    start = (span.start_time or 0) / 1e9
    end = (span.end_time or span.start_time or 0) / 1e9
    parent = span.parent
    is_segment = span.kind in _SEGMENT_KINDS or parent is None or parent.is_remote
    document: dict[str, Any] = {
        "id": f"{context.span_id:016x}",
        "trace_id": xray_trace_id(context.trace_id),
        "start_time": start,
        "end_time": max(end, start),
    }
    if is_segment:
        document["name"] = service
        document["origin"] = "AWS::ECS::Container"
    else:
        document["type"] = "subsegment"
        if span.kind in (SpanKind.CLIENT, SpanKind.PRODUCER):
            document["namespace"] = "remote"
            document["name"] = _remote_name(span)
        else:
            document["name"] = span.name
    if parent is not None:
        document["parent_id"] = f"{parent.span_id:016x}"
    http = _http_section(attributes)
    if http:
        document["http"] = http
    status = http.get("response", {}).get("status")
    # Moto (and the console) read the mere presence of these keys: set them only when true.
    if isinstance(status, int) and status >= 500:
        document["fault"] = True
    elif isinstance(status, int) and status >= 400:
        document["error"] = True
        if status == 429:
            document["throttle"] = True
    elif span.status.status_code is StatusCode.ERROR:
        document["fault"] = True
    annotations = {"span_name": span.name}
    route = attributes.get("http.route")
    if route is not None:
        annotations["route"] = str(route)
    document["annotations"] = annotations
    document["metadata"] = {
        "otel": {key: _json_value(value) for key, value in attributes.items()},
    }
    return document


def _json_value(value: Any) -> Any:
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return [str(item) for item in value] if isinstance(value, Sequence) else str(value)


class XRaySegmentExporter(SpanExporter):
    """Keeps finished spans as segment documents until ``flush`` sends them.

    ``export`` runs in the batch processor's thread and ``flush`` on the event loop; the
    buffer is a deque, whose appends and pops are atomic. It is bounded: when X-Ray is
    unreachable for long, the oldest segments are dropped (and counted) rather than
    growing the process without limit.
    """

    def __init__(self, service: str, *, capacity: int = 10_000) -> None:
        self.service = service
        self._pending: deque[str] = deque(maxlen=capacity)
        self.dropped = 0

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        for span in spans:
            if len(self._pending) == self._pending.maxlen:
                self.dropped += 1
            self._pending.append(json.dumps(segment_document(span, self.service)))
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        return None

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return True

    @property
    def pending(self) -> int:
        return len(self._pending)

    async def flush(self, xray: Any) -> int:
        """Send every kept segment; what X-Ray could not take is kept for the next flush."""
        sent = 0
        while self._pending:
            batch = [
                self._pending.popleft()
                for _ in range(min(len(self._pending), MAX_SEGMENTS_PER_CALL))
            ]
            try:
                response = await xray.put_trace_segments(TraceSegmentDocuments=batch)
            except (ClientError, BotoCoreError):
                logger.warning("trace segments not sent; keeping them", exc_info=True)
                self._pending.extendleft(reversed(batch))
                break
            unprocessed = response.get("UnprocessedTraceSegments", [])
            if unprocessed:
                # A rejected document will be rejected again: log it, do not retry it.
                logger.warning("X-Ray rejected %d segments: %s", len(unprocessed), unprocessed)
            sent += len(batch) - len(unprocessed)
        return sent

    async def run(
        self,
        xray: Any,
        stop: asyncio.Event,
        *,
        interval: float = 1.0,
        final_flush_seconds: float = 3.0,
        drain: Callable[[], object] | None = None,
    ) -> None:
        """Flush every ``interval`` seconds until ``stop``, then once more (bounded).

        ``drain`` (blocking, so run in a thread) first hands over what is still queued
        upstream of the buffer, so the last flush sends the spans that ended before the
        stop."""

        async def flush() -> int:
            if stop.is_set() and drain is not None:
                await asyncio.to_thread(drain)
            return await self.flush(xray)

        await flush_until_stopped(
            flush,
            stop,
            interval=interval,
            final_flush_seconds=final_flush_seconds,
            on_final_timeout=log_unsent(
                logger, "final trace flush timed out; %d segments dropped", lambda: self.pending
            ),
        )


class Tracing:
    """One service's tracer provider, its sampling, its instrumentations and its X-Ray
    exporter.

    ``sampler`` decides the traces that start here (`sampling.trace_sampler`: X-Ray's
    default rule unless told otherwise); an unsampled request that fails or takes at
    least ``slow_seconds`` is sent all the same (`trace_keeping.KeepFailedOrSlow`)."""

    def __init__(
        self,
        service: str,
        *,
        exporter: XRaySegmentExporter | None = None,
        sampler: Sampler | None = None,
        slow_seconds: float = DEFAULT_SLOW_SECONDS,
    ) -> None:
        self.service = f"marketscope-{service}"
        self.exporter = exporter or XRaySegmentExporter(self.service)
        self.provider = TracerProvider(
            resource=Resource.create({"service.name": self.service}),
            id_generator=AwsXRayIdGenerator(),
            sampler=sampler or trace_sampler(),
        )
        # Ending a span only queues it; the batch processor's thread makes the segment
        # documents, and ``run`` sends them on the event loop with the app's own
        # aiobotocore client.
        self.batches = BatchSpanProcessor(
            self.exporter,
            max_queue_size=MAX_QUEUED_SPANS,
            schedule_delay_millis=BATCH_DELAY_MILLIS,
        )
        self.keeper = KeepFailedOrSlow(self.batches, slow_seconds=slow_seconds)
        self.provider.add_span_processor(self.keeper)
        # Code that traces through the global API (the events consumer) reports to the
        # first service of the process; one process runs one service in production.
        if isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider):
            trace.set_tracer_provider(self.provider)

    def tracer(self, name: str) -> trace.Tracer:
        return self.provider.get_tracer(name)

    def instrument_app(self, app: FastAPI) -> None:
        FastAPIInstrumentor.instrument_app(
            app,
            tracer_provider=self.provider,
            excluded_urls=EXCLUDED_URLS,
            # One span per request, not one per ASGI message.
            exclude_spans=["receive", "send"],
        )

    def instrument_client(self, client: httpx.AsyncClient | httpx.Client) -> None:
        """Client spans for ``client``'s calls, with ``traceparent`` (and the request's
        ``X-Request-Id``) sent downstream."""
        HTTPXClientInstrumentor.instrument_client(client, tracer_provider=self.provider)
        if isinstance(client, httpx.AsyncClient):
            forward_request_id(client)

    def flush_spans(self) -> bool:
        """Turn every ended span still queued into its segment document now (blocking)."""
        return self.batches.force_flush()

    async def run(self, xray: Any, stop: asyncio.Event, *, interval: float = 1.0) -> None:
        await self.exporter.run(xray, stop, interval=interval, drain=self.flush_spans)
