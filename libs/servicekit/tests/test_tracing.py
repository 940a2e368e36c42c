"""Tracing: spans become X-Ray segment documents off the request path; a request that
crosses two service apps is one trace, read back from X-Ray (the emulator stores segments
as AWS does)."""

from __future__ import annotations

import asyncio
import contextvars
import json
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import APIRouter, FastAPI, Request
from opentelemetry.trace import SpanKind
from starlette.types import ASGIApp, Receive, Scope, Send

from marketscope_events.envelope import TRACEPARENT_PATTERN
from marketscope_platform.aws import AwsClients, AwsSettings
from marketscope_servicekit import ServiceSettings, create_service_app
from marketscope_servicekit.sampling import trace_sampler, xray_rules
from marketscope_servicekit.testing import no_components
from marketscope_servicekit.tracing import (
    Tracing,
    XRaySegmentExporter,
    current_traceparent,
    xray_trace_id,
)


class DemoSettings(ServiceSettings):
    port: int = 18998
    table_name: str = "demo-table"


def sampling_everything() -> dict[str, Any]:
    """A sampler that keeps every trace: these tests read every span back."""
    return {"sampler": trace_sampler(xray_rules(rate=1.0))}


def test_trace_ids_are_xray_shaped_with_the_epoch_first() -> None:
    tracing = Tracing("demo")
    with tracing.tracer("test").start_as_current_span("work") as span:
        trace_id = xray_trace_id(span.get_span_context().trace_id)
    version, epoch, rest = trace_id.split("-")
    assert version == "1"
    assert len(rest) == 24
    assert abs(int(epoch, 16) - time.time()) < 60


def test_server_spans_are_segments_and_children_subsegments() -> None:
    exporter = XRaySegmentExporter("marketscope-demo")
    tracing = Tracing("demo", exporter=exporter, **sampling_everything())
    tracer = tracing.tracer("test")
    with tracer.start_as_current_span(
        "GET /things/{id}",
        kind=SpanKind.SERVER,
        attributes={
            "http.request.method": "GET",
            "url.path": "/things/1",
            "http.route": "/things/{id}",
            "http.response.status_code": 503,
        },
    ) as server:
        traceparent = current_traceparent()
        with tracer.start_as_current_span(
            "GET",
            kind=SpanKind.CLIENT,
            attributes={"server.address": "backend", "server.port": 8002, "http.status_code": 429},
        ):
            pass
    tracing.flush_spans()
    documents = [json.loads(raw) for raw in exporter._pending]
    client, segment = documents
    context = server.get_span_context()
    assert traceparent is not None
    assert TRACEPARENT_PATTERN.match(traceparent)
    assert segment["name"] == "marketscope-demo"
    assert segment["id"] == f"{context.span_id:016x}"
    assert segment["trace_id"] == xray_trace_id(context.trace_id)
    assert "parent_id" not in segment
    assert "type" not in segment
    assert segment["http"] == {
        "request": {"method": "GET", "url": "/things/1"},
        "response": {"status": 503},
    }
    assert segment["fault"] is True
    assert "error" not in segment
    assert segment["annotations"]["route"] == "/things/{id}"
    assert segment["end_time"] >= segment["start_time"]
    assert client["type"] == "subsegment"
    assert client["namespace"] == "remote"
    assert client["name"] == "backend:8002"
    assert client["parent_id"] == segment["id"]
    assert client["trace_id"] == segment["trace_id"]
    assert client["error"] is client["throttle"] is True
    assert "fault" not in client


async def test_flush_keeps_segments_when_xray_fails() -> None:
    from botocore.exceptions import EndpointConnectionError

    class DownXRay:
        async def put_trace_segments(self, **_: Any) -> dict[str, Any]:
            raise EndpointConnectionError(endpoint_url="http://127.0.0.1:1")

    exporter = XRaySegmentExporter("marketscope-demo", capacity=2)
    tracing = Tracing("demo", exporter=exporter, **sampling_everything())
    tracer = tracing.tracer("test")
    for name in ("a", "b", "c"):
        with tracer.start_as_current_span(name):
            pass
    tracing.flush_spans()
    assert exporter.pending == 2
    assert exporter.dropped == 1
    assert await exporter.flush(DownXRay()) == 0
    assert exporter.pending == 2


class RecordingXRay:
    def __init__(self) -> None:
        self.documents: list[dict[str, Any]] = []

    async def put_trace_segments(self, **request: Any) -> dict[str, Any]:
        self.documents.extend(json.loads(raw) for raw in request["TraceSegmentDocuments"])
        return {"UnprocessedTraceSegments": []}


class ThreadNotingExporter(XRaySegmentExporter):
    def __init__(self) -> None:
        super().__init__("marketscope-demo")
        self.threads: set[int] = set()
        self.exported = threading.Event()

    def export(self, spans: Any) -> Any:
        self.threads.add(threading.get_ident())
        result = super().export(spans)
        self.exported.set()
        return result


def test_ending_a_span_leaves_the_segment_to_the_batch_thread() -> None:
    exporter = ThreadNotingExporter()
    tracing = Tracing("demo", exporter=exporter, **sampling_everything())
    with tracing.tracer("test").start_as_current_span("GET /things", kind=SpanKind.SERVER):
        pass
    assert exporter.exported.wait(timeout=10)
    assert exporter.pending == 1
    assert threading.get_ident() not in exporter.threads
    assert len(exporter.threads) == 1


async def test_the_last_flush_sends_the_spans_still_queued() -> None:
    tracing = Tracing("demo", **sampling_everything())
    with tracing.tracer("test").start_as_current_span("GET /late", kind=SpanKind.SERVER):
        pass
    stop = asyncio.Event()
    stop.set()
    xray = RecordingXRay()
    await tracing.run(xray, stop, interval=60.0)
    assert [doc["annotations"]["span_name"] for doc in xray.documents] == ["GET /late"]


def across_a_network(app: ASGIApp) -> ASGIApp:
    """``app`` served in a context of its own, as in another process: in-process ASGI
    calls would otherwise inherit the caller's active span, not read ``traceparent``."""

    async def isolated(scope: Scope, receive: Receive, send: Send) -> None:
        await asyncio.create_task(app(scope, receive, send), context=contextvars.Context())

    return isolated


def _apps(aws_settings: AwsSettings) -> tuple[FastAPI, FastAPI]:
    back_router = APIRouter()

    @back_router.get("/items/{item}")
    async def item(item: str, request: Request) -> dict[str, str]:
        return {"item": item, "traceparent": request.headers.get("traceparent", "")}

    # Every request traced: the test reads this one back.
    settings = DemoSettings(trace_sampling_rate=1.0)
    back = create_service_app(
        "back",
        settings,
        build=no_components,
        readiness_checks=lambda _aws, _components: [],
        routers=[back_router],
        signed_identity=False,
        aws_settings=aws_settings,
    )
    front_router = APIRouter()

    @front_router.get("/front/{item}")
    async def front_item(item: str, request: Request) -> Any:
        client: httpx.AsyncClient = request.app.state.back_client
        return (await client.get(f"/items/{item}")).json()

    front = create_service_app(
        "front",
        settings,
        build=no_components,
        readiness_checks=lambda _aws, _components: [],
        routers=[front_router],
        signed_identity=False,
        aws_settings=aws_settings,
    )
    client = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=across_a_network(back)), base_url="http://back"
    )
    front.state.tracing.instrument_client(client)
    front.state.back_client = client
    return front, back


@pytest.mark.integration
async def test_a_request_across_two_services_is_one_xray_trace(
    aws_settings: AwsSettings, aws: AwsClients
) -> None:
    front, back = _apps(aws_settings)
    started = datetime.now(UTC) - timedelta(minutes=1)
    async with back.router.lifespan_context(back), front.router.lifespan_context(front):
        transport = httpx.ASGITransport(app=front)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            response = await client.get("/front/42")
    await front.state.back_client.aclose()
    assert response.status_code == 200
    sent = response.json()["traceparent"]
    assert TRACEPARENT_PATTERN.match(sent)  # the downstream got a W3C traceparent
    trace_id = f"1-{sent[3:11]}-{sent[11:35]}"

    xray = await aws.client("xray")
    summaries: list[dict[str, Any]] = []
    for _ in range(20):  # both apps flushed at shutdown; allow the emulator a moment
        page = await xray.get_trace_summaries(
            StartTime=started, EndTime=datetime.now(UTC) + timedelta(minutes=1)
        )
        summaries = [s for s in page["TraceSummaries"] if s["Id"] == trace_id]
        if summaries:
            break
        await asyncio.sleep(0.1)
    assert summaries, f"trace {trace_id} not found in X-Ray"
    traces = (await xray.batch_get_traces(TraceIds=[trace_id]))["Traces"]
    documents = [json.loads(segment["Document"]) for segment in traces[0]["Segments"]]
    by_name = {doc["name"]: doc for doc in documents if doc.get("type") != "subsegment"}
    assert {"marketscope-front", "marketscope-back"} <= set(by_name)
    call = next(doc for doc in documents if doc.get("namespace") == "remote")
    assert call["parent_id"] == by_name["marketscope-front"]["id"]
    assert by_name["marketscope-back"]["parent_id"] == call["id"]
    assert by_name["marketscope-back"]["annotations"]["route"] == "/items/{item}"
    assert all(doc["trace_id"] == trace_id for doc in documents)
