"""Failed and slow requests are traced whatever the sampling rules said.

Sampling decides when a trace starts, before anyone knows how the request will go, yet
a failed or slow request is the one an operator opens a trace for. So spans that are not
sampled are recorded all the same (`sampling.RECORD_ONLY`), and `KeepFailedOrSlow` holds
the ended ones of each local trace (the spans under one local root: the server span of a
request, the consumer span of an event, any span whose parent is remote or absent) until
that root ends. Then it decides:

- the root failed (status ERROR: an exception, or a 5xx answer) -> the whole local trace
  is sent;
- the root is an HTTP request that took at least ``slow_seconds`` -> sent too (not a
  WebSocket session, which lasts as long as its client stays, nor an event's handling,
  whose length is the job's);
- otherwise -> forgotten.

Memory is bounded: at most ``max_held_spans`` ended spans wait (the oldest local trace is
forgotten first when more arrive), at most ``max_spans_per_trace`` of them per local
root (a kept root then goes with its first ones), and at most ``max_open_spans`` open
spans are followed to their root (a span beyond that cannot be kept, though a root still
is). What is forgotten that way is counted in ``evicted``.

The decision travelling downstream stays the rule's: a kept request's callees were told
"not sampled", and keep only what failed or was slow with them too.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

from opentelemetry.context import Context
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor
from opentelemetry.trace import SpanContext, SpanKind, StatusCode, TraceFlags

__all__ = ["DEFAULT_SLOW_SECONDS", "KeepFailedOrSlow", "is_local_root"]

# What the services' APILatency p95 alarm calls slow.
DEFAULT_SLOW_SECONDS = 2.0
MAX_HELD_SPANS = 4096
MAX_SPANS_PER_TRACE = 256
MAX_OPEN_SPANS = 10_000
_WEBSOCKET_SCHEMES = frozenset({"ws", "wss"})


def is_local_root(span: ReadableSpan) -> bool:
    """The first span of this process in its trace: its parent is remote or absent."""
    parent = span.parent
    return parent is None or parent.is_remote


def _sampled(span: ReadableSpan) -> bool:
    context = span.get_span_context()
    return context is not None and context.trace_flags.sampled


def _span_id(span: ReadableSpan) -> int:
    context = span.get_span_context()
    assert context is not None  # SDK spans always carry one
    return context.span_id


def _attribute(span: ReadableSpan, *names: str) -> Any:
    attributes = span.attributes or {}
    for name in names:
        if name in attributes:
            return attributes[name]
    return None


def failed(span: ReadableSpan) -> bool:
    """An exception or a server error: what the segment shows as a fault."""
    if span.status.status_code is StatusCode.ERROR:
        return True
    status = _attribute(span, "http.response.status_code", "http.status_code")
    return isinstance(status, int) and status >= 500


def slow_request(span: ReadableSpan, slow_seconds: float) -> bool:
    """An HTTP request (not a WebSocket session) that took at least ``slow_seconds``."""
    if span.kind is not SpanKind.SERVER or span.start_time is None or span.end_time is None:
        return False
    if _attribute(span, "url.scheme", "http.scheme") in _WEBSOCKET_SCHEMES:
        return False
    return (span.end_time - span.start_time) / 1e9 >= slow_seconds


def as_kept(span: ReadableSpan) -> ReadableSpan:
    """``span`` marked sampled, as the processors that send spans want them; only the
    copy's flag changes (what went downstream said otherwise, and stays so)."""
    context = span.get_span_context()
    assert context is not None
    kept = SpanContext(
        context.trace_id,
        context.span_id,
        is_remote=context.is_remote,
        trace_flags=TraceFlags(context.trace_flags | TraceFlags.SAMPLED),
        trace_state=context.trace_state,
    )
    return ReadableSpan(
        name=span.name,
        context=kept,
        parent=span.parent,
        resource=span.resource,
        attributes=span.attributes,
        events=span.events,
        links=span.links,
        kind=span.kind,
        status=span.status,
        start_time=span.start_time,
        end_time=span.end_time,
        instrumentation_scope=span.instrumentation_scope,
    )


class KeepFailedOrSlow(SpanProcessor):
    """Passes sampled spans to ``sender``; holds the others per local trace until its
    root ends, and passes them too when that request failed or was slow."""

    def __init__(
        self,
        sender: SpanProcessor,
        *,
        slow_seconds: float = DEFAULT_SLOW_SECONDS,
        max_held_spans: int = MAX_HELD_SPANS,
        max_spans_per_trace: int = MAX_SPANS_PER_TRACE,
        max_open_spans: int = MAX_OPEN_SPANS,
    ) -> None:
        self.sender = sender
        self.slow_seconds = slow_seconds
        self._max_held = max_held_spans
        self._max_per_trace = max_spans_per_trace
        self._max_open = max_open_spans
        # Open unsampled span -> the span id of its local root.
        self._root_of: dict[int, int] = {}
        # Local root -> its ended spans, oldest root first.
        self._held: OrderedDict[int, list[ReadableSpan]] = OrderedDict()
        self._held_count = 0
        # Spans end on the event loop, and in whatever thread traced code runs in.
        self._lock = threading.Lock()
        self.kept = 0
        self.evicted = 0

    @property
    def held(self) -> int:
        """Ended spans waiting for their root's decision."""
        return self._held_count

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        if _sampled(span):
            self.sender.on_start(span, parent_context)
            return
        span_id = _span_id(span)
        with self._lock:
            if is_local_root(span):
                root: int | None = span_id
            else:
                assert span.parent is not None
                root = self._root_of.get(span.parent.span_id)
            if root is None or len(self._root_of) >= self._max_open:
                self.evicted += 1
                return
            self._root_of[span_id] = root

    def on_end(self, span: ReadableSpan) -> None:
        if _sampled(span):
            self.sender.on_end(span)
            return
        span_id = _span_id(span)
        with self._lock:
            root = self._root_of.pop(span_id, None)
            if not is_local_root(span):
                if root is not None:
                    self._hold(root, span)
                return
            held = self._held.pop(span_id, [])
            self._held_count -= len(held)
        if failed(span) or slow_request(span, self.slow_seconds):
            for each in (*held, span):
                self.sender.on_end(as_kept(each))
            self.kept += 1

    def _hold(self, root: int, span: ReadableSpan) -> None:
        spans = self._held.get(root)
        if spans is None:
            spans = self._held[root] = []
        if len(spans) >= self._max_per_trace:
            self.evicted += 1
            return
        spans.append(span)
        self._held_count += 1
        while self._held_count > self._max_held:
            _, oldest = self._held.popitem(last=False)
            self._held_count -= len(oldest)
            self.evicted += len(oldest)

    def shutdown(self) -> None:
        self.sender.shutdown()

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return self.sender.force_flush(timeout_millis)
