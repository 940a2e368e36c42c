"""Failed and slow requests are sent even when sampling said no; ordinary unsampled ones
are not, and what waits for a request's end is bounded."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import pytest
from fastapi import APIRouter
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor, TracerProvider
from opentelemetry.trace import SpanKind, Status, StatusCode

from marketscope_events.tracing import context_from_traceparent
from marketscope_servicekit import ServiceSettings, create_service_app
from marketscope_servicekit.sampling import trace_sampler, xray_rules
from marketscope_servicekit.testing import no_components
from marketscope_servicekit.trace_keeping import KeepFailedOrSlow
from marketscope_servicekit.tracing import Tracing, XRaySegmentExporter

SECOND = 1_000_000_000
NEVER = xray_rules(reservoir=0, rate=0.0)
UNSAMPLED_PARENT = "00-5f1b2c3d4e5f60718293a4b5c6d7e8fa-a1b2c3d4e5f60719-00"


def never_sampling(slow_seconds: float = 2.0) -> Tracing:
    """Sampling rules that sample nothing: only keeping can send a span."""
    return Tracing(
        "demo",
        exporter=XRaySegmentExporter("marketscope-demo"),
        sampler=trace_sampler(NEVER),
        slow_seconds=slow_seconds,
    )


def sent(tracing: Tracing) -> list[dict[str, Any]]:
    tracing.flush_spans()
    return [json.loads(raw) for raw in tracing.exporter._pending]


def request(
    tracing: Tracing,
    *,
    status: int = 200,
    seconds: float = 0.01,
    kind: SpanKind = SpanKind.SERVER,
    scheme: str = "http",
    parent: str | None = None,
) -> None:
    """A request (a root span with one call under it) that answered ``status`` after
    ``seconds``."""
    tracer = tracing.tracer("test")
    start = time.time_ns()
    root = tracer.start_span(
        "GET /things",
        context=context_from_traceparent(parent),
        kind=kind,
        start_time=start,
        attributes={"http.scheme": scheme, "http.method": "GET", "http.target": "/things"},
    )
    with tracer.start_as_current_span(
        "GET", context=trace.set_span_in_context(root), kind=SpanKind.CLIENT
    ):
        pass
    root.set_attribute("http.status_code", status)
    root.end(end_time=start + int(seconds * SECOND))


def test_an_ordinary_unsampled_request_is_not_sent() -> None:
    tracing = never_sampling()
    request(tracing, status=200, seconds=1.9)
    request(tracing, status=404)  # a client's mistake is no failure of ours
    assert sent(tracing) == []
    assert tracing.keeper.held == 0  # nothing left waiting once the requests ended


def test_a_failed_unsampled_request_is_sent_with_its_calls() -> None:
    tracing = never_sampling()
    request(tracing, status=503)
    documents = sent(tracing)
    call, segment = documents
    assert segment["fault"] is True
    assert call["parent_id"] == segment["id"]
    assert call["trace_id"] == segment["trace_id"]
    assert tracing.keeper.kept == 1


def test_a_slow_unsampled_request_is_sent() -> None:
    tracing = never_sampling(slow_seconds=2.0)
    request(tracing, seconds=2.5)
    assert [doc["annotations"]["span_name"] for doc in sent(tracing)] == ["GET", "GET /things"]


def test_slowness_is_kept_for_requests_not_sessions_or_jobs() -> None:
    tracing = never_sampling(slow_seconds=2.0)
    request(tracing, seconds=600, scheme="ws")  # a WebSocket session lasts as its client
    request(tracing, seconds=600, kind=SpanKind.CONSUMER)  # a long job is no slow answer
    assert sent(tracing) == []


def test_a_failed_event_handling_is_sent() -> None:
    tracing = never_sampling()
    request(tracing, status=500, kind=SpanKind.CONSUMER)
    assert len(sent(tracing)) == 2


def test_a_failure_under_an_unsampled_caller_is_sent_too() -> None:
    tracing = never_sampling()
    request(tracing, status=500, parent=UNSAMPLED_PARENT)
    _call, segment = sent(tracing)
    assert segment["parent_id"] == UNSAMPLED_PARENT[36:52]
    assert segment["trace_id"] == f"1-{UNSAMPLED_PARENT[3:11]}-{UNSAMPLED_PARENT[11:35]}"


def test_an_exception_is_a_failure() -> None:
    tracing = never_sampling()
    span = tracing.tracer("test").start_as_current_span("job", kind=SpanKind.CONSUMER)
    with pytest.raises(RuntimeError), span:
        raise RuntimeError("boom")
    [segment] = sent(tracing)
    assert segment["fault"] is True


class Recorder(SpanProcessor):
    def __init__(self) -> None:
        self.ended: list[ReadableSpan] = []

    def on_end(self, span: ReadableSpan) -> None:
        self.ended.append(span)


def test_what_waits_for_a_root_is_bounded() -> None:
    recorder = Recorder()
    keeper = KeepFailedOrSlow(recorder, max_held_spans=10, max_spans_per_trace=4)
    provider = TracerProvider(sampler=trace_sampler(NEVER))
    provider.add_span_processor(keeper)
    tracer = provider.get_tracer("test")
    roots = [tracer.start_span(f"GET /{n}", kind=SpanKind.SERVER) for n in range(5)]
    for root in roots:
        for _ in range(6):
            with tracer.start_as_current_span("call", context=trace.set_span_in_context(root)):
                pass
    # 4 of each root's 6 calls may wait, and 10 in all: when an 11th arrives the oldest
    # root's calls go, so roots 0, 1 and 2 lost theirs to 3 and 4.
    assert keeper.held == 8
    assert keeper.evicted == 5 * 2 + 3 * 4
    roots[0].set_status(Status(StatusCode.ERROR))
    roots[-1].set_status(Status(StatusCode.ERROR))
    for root in roots:
        root.end()
    # A failed root goes with the calls still held for it: none left for the oldest.
    assert [span.name for span in recorder.ended] == ["GET /0", *["call"] * 4, "GET /4"]
    assert all(span.context.trace_flags.sampled for span in recorder.ended)
    assert keeper.held == 0


class DemoSettings(ServiceSettings):
    port: int = 18996
    table_name: str = "demo-table"


async def test_an_app_sends_its_failed_requests_but_not_its_ordinary_ones() -> None:
    router = APIRouter()

    @router.get("/fine")
    async def fine() -> dict[str, bool]:
        return {"fine": True}

    @router.get("/broken")
    async def broken() -> None:
        raise RuntimeError("broken on purpose")

    app = create_service_app(
        "demo",
        DemoSettings(trace_sampling_rate=0.0, trace_sampling_reservoir=0),
        build=no_components,
        readiness_checks=lambda _aws, _components: [],
        routers=[router],
        signed_identity=False,
    )
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        assert (await client.get("/fine")).status_code == 200
        assert (await client.get("/broken")).status_code == 500
        assert (await client.get("/fine")).status_code == 200
    [segment] = sent(app.state.tracing)
    assert segment["annotations"]["route"] == "/broken"
    assert segment["fault"] is True
