"""Trace context across SNS/SQS hops: W3C ``traceparent`` and its X-Ray twin."""

from __future__ import annotations

import contextvars

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

_PROPAGATOR = TraceContextTextMapPropagator()
_TRACER_NAME = "marketscope_events"
# The provider of the service whose code runs: a service sets it where its background
# work starts (tasks inherit it), so the consumers of several services sharing one
# process each report as their own service. Unset: OpenTelemetry's global provider.
_SERVICE_PROVIDER: contextvars.ContextVar[trace.TracerProvider | None] = contextvars.ContextVar(
    "marketscope_tracer_provider", default=None
)


def use_tracer_provider(
    provider: trace.TracerProvider | None,
) -> contextvars.Token[trace.TracerProvider | None]:
    """Make ``provider`` the one ``events_tracer`` answers with in this context (and in
    every task created from it from now on); the token undoes it."""
    return _SERVICE_PROVIDER.set(provider)


def restore_tracer_provider(token: contextvars.Token[trace.TracerProvider | None]) -> None:
    _SERVICE_PROVIDER.reset(token)


def events_tracer() -> trace.Tracer:
    """The tracer of the service running this code (see `use_tracer_provider`)."""
    provider = _SERVICE_PROVIDER.get()
    if provider is None:
        return trace.get_tracer(_TRACER_NAME)
    return provider.get_tracer(_TRACER_NAME)


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
