"""Trace context across SNS/SQS hops: W3C ``traceparent`` and its X-Ray twin."""

from __future__ import annotations

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

_PROPAGATOR = TraceContextTextMapPropagator()
tracer = trace.get_tracer("marketscope_events")


def current_traceparent() -> str | None:
    """The ``traceparent`` of the active span, or None when nothing is being traced."""
    carrier: dict[str, str] = {}
    _PROPAGATOR.inject(carrier)
    return carrier.get("traceparent")


def context_from_traceparent(traceparent: str | None) -> Context | None:
    if not traceparent:
        return None
    return _PROPAGATOR.extract({"traceparent": traceparent})


def xray_trace_header(traceparent: str) -> str:
    """``00-<32 hex>-<16 hex>-<flags>`` -> ``Root=1-<8 hex>-<24 hex>;Parent=<16 hex>;Sampled=N``.

    X-Ray trace ids are the W3C id split after the first 8 hex digits (the epoch seconds
    part), which is how the OpenTelemetry X-Ray id generator makes them.
    """
    _, trace_id, span_id, flags = traceparent.split("-")
    sampled = int(flags, 16) & 1
    return f"Root=1-{trace_id[:8]}-{trace_id[8:]};Parent={span_id};Sampled={sampled}"
