from __future__ import annotations

import contextvars

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider

from marketscope_events.consuming.dispatch import retry_delay
from marketscope_events.tracing import (
    current_traceparent,
    events_tracer,
    use_tracer_provider,
    xray_trace_header,
)


def test_retry_delay_grows_exponentially_with_jitter_and_a_ceiling() -> None:
    for receive_count, ceiling in ((1, 2), (2, 4), (3, 8), (4, 16), (10, 60)):
        delays = {retry_delay(receive_count, base_seconds=2, max_seconds=60) for _ in range(200)}
        assert min(delays) >= ceiling // 2
        assert max(delays) <= ceiling
        if ceiling >= 8:
            assert len(delays) > 1  # jittered, not one fixed value


def test_xray_header_is_the_w3c_trace_split_after_eight_digits() -> None:
    header = xray_trace_header("00-6718a7b2c3d4e5f60718293a4b5c6d7e-00f067aa0ba902b7-00")
    assert header == "Root=1-6718a7b2-c3d4e5f60718293a4b5c6d7e;Parent=00f067aa0ba902b7;Sampled=0"


def test_current_traceparent_follows_the_active_span() -> None:
    assert current_traceparent() is None
    provider = TracerProvider()
    with provider.get_tracer("test").start_as_current_span("request") as span:
        context = span.get_span_context()
        traceparent = current_traceparent()
        assert traceparent is not None
        assert traceparent.startswith(f"00-{context.trace_id:032x}-{context.span_id:016x}-")
        assert int(traceparent[-2:], 16) & 1  # sampled


def test_new_events_carry_the_active_trace() -> None:
    from ..helpers import quote_event

    assert quote_event().traceparent is None
    with TracerProvider().get_tracer("test").start_as_current_span("request") as span:
        event = quote_event()
    context = span.get_span_context()
    assert event.traceparent is not None
    assert event.traceparent.startswith(f"00-{context.trace_id:032x}-{context.span_id:016x}-")


def test_events_tracer_is_the_provider_set_for_the_running_context() -> None:
    first, second = (
        TracerProvider(resource=Resource.create({"service.name": name})) for name in "ab"
    )

    def tracer_made_under(provider: TracerProvider) -> object:
        use_tracer_provider(provider)
        with events_tracer().start_as_current_span("handle") as span:
            return span

    # Each service's background work runs in its own context (tasks copy it).
    spans = [contextvars.copy_context().run(tracer_made_under, p) for p in (first, second)]
    services = [s.resource.attributes["service.name"] for s in spans]
    assert services == ["a", "b"]
    assert [s.instrumentation_scope.name for s in spans] == ["marketscope_events"] * 2
    # Outside those contexts: whatever the process's global provider is.
    with events_tracer().start_as_current_span("outside") as outside:
        resource = getattr(outside, "resource", None)
        assert resource is None or resource.attributes.get("service.name") not in services
