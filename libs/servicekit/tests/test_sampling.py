"""Sampling: X-Ray's rules (the SDK's own ``LocalSampler``) decide the traces that start
in a service, the parent's flag every other span, over HTTP and SNS/SQS alike."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from aws_xray_sdk.core.sampling.local import reservoir
from fastapi import APIRouter
from opentelemetry.trace import SpanKind

from marketscope_events import (
    CATALOG,
    ConsumerSettings,
    DecodedEvent,
    Envelope,
    InMemoryIdempotencyStore,
    SqsConsumer,
)
from marketscope_events.catalog import QuoteUpdated
from marketscope_events.tracing import context_from_traceparent, current_traceparent
from marketscope_servicekit import ServiceSettings, create_service_app
from marketscope_servicekit.sampling import (
    InvalidSamplingRules,
    XRayRuleSampler,
    check_rules,
    trace_sampler,
    xray_rules,
)
from marketscope_servicekit.testing import no_components
from marketscope_servicekit.tracing import Tracing, XRaySegmentExporter

SAMPLED_PARENT = "00-5f1b2c3d4e5f60718293a4b5c6d7e8f9-a1b2c3d4e5f60718-01"
UNSAMPLED_PARENT = "00-5f1b2c3d4e5f60718293a4b5c6d7e8fa-a1b2c3d4e5f60719-00"
QUOTES_ONLY = {
    "version": 2,
    "rules": [
        {
            "description": "quote lookups",
            "host": "*",
            "http_method": "GET",
            "url_path": "/api/v1/quotes/*",
            "fixed_target": 0,
            "rate": 1.0,
        }
    ],
    "default": {"fixed_target": 0, "rate": 0.0},
}


class Clock:
    """The reservoir's ``time``: X-Ray counts its reservoir per wall-clock second."""

    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def time(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    frozen = Clock()
    monkeypatch.setattr(reservoir, "time", frozen)
    return frozen


def decisions(sampler: XRayRuleSampler, count: int, **attributes: Any) -> list[bool]:
    return [
        sampler.should_sample(
            None, 1, "GET /x", SpanKind.SERVER, attributes or None
        ).decision.is_sampled()
        for _ in range(count)
    ]


def test_the_default_is_x_rays_one_a_second_then_five_percent(clock: Clock) -> None:
    sampler = XRayRuleSampler()
    first, *rest = decisions(sampler, 4001)
    assert first  # the reservoir's one
    # 5 % of 4000 is 200 (standard deviation 14); the bounds are 6 deviations wide.
    assert 115 <= sum(rest) <= 285
    clock.now += 1
    assert decisions(sampler, 1) == [True]  # a new second, a new reservoir


def test_the_reservoir_comes_first_then_the_rate(clock: Clock) -> None:
    sampler = XRayRuleSampler(xray_rules(reservoir=2, rate=0.0))
    assert decisions(sampler, 5) == [True, True, False, False, False]
    clock.now += 0.5  # still the same second
    assert decisions(sampler, 1) == [False]
    clock.now += 0.5
    assert decisions(sampler, 3) == [True, True, False]
    assert all(decisions(XRayRuleSampler(xray_rules(reservoir=0, rate=1.0)), 50))
    assert not any(decisions(XRayRuleSampler(xray_rules(reservoir=0, rate=0.0)), 50))


def test_unsampled_spans_are_recorded_not_dropped(clock: Clock) -> None:
    sampler = XRayRuleSampler(xray_rules(reservoir=0, rate=0.0))
    result = sampler.should_sample(None, 1, "GET /x", SpanKind.SERVER)
    assert not result.decision.is_sampled()
    assert result.decision.is_recording()


def test_custom_rules_match_host_method_and_path_in_the_sdks_way(clock: Clock) -> None:
    sampler = XRayRuleSampler(QUOTES_ONLY)
    quote = {"http.method": "GET", "http.target": "/api/v1/quotes/IBM?fresh=1"}
    assert decisions(sampler, 3, **quote) == [True] * 3
    new_names = {"http.request.method": "GET", "url.path": "/api/v1/quotes/IBM"}
    assert decisions(sampler, 1, **new_names) == [True]
    assert decisions(sampler, 1, **{**quote, "http.method": "POST"}) == [False]
    assert decisions(sampler, 1, **{**quote, "http.target": "/api/v1/news"}) == [False]
    # No HTTP attributes (an event's consumer span): the default rule, not the first rule
    # that an empty request would match.
    assert decisions(sampler, 3, **{"messaging.system": "aws_sqs"}) == [False] * 3


def test_rules_the_sdk_refuses_are_refused_with_its_reason() -> None:
    check_rules(QUOTES_ONLY)
    with pytest.raises(InvalidSamplingRules, match="version"):
        check_rules({"version": 9, "default": {"fixed_target": 1, "rate": 0.1}})
    with pytest.raises(InvalidSamplingRules, match="default rule"):
        check_rules({"version": 2, "rules": []})
    with pytest.raises(InvalidSamplingRules):
        check_rules({"version": 2, "default": {"rate": 0.1}})


def tracing_that(*, samples: bool) -> tuple[Tracing, XRaySegmentExporter]:
    exporter = XRaySegmentExporter("marketscope-demo")
    rules = xray_rules(reservoir=0, rate=1.0 if samples else 0.0)
    return Tracing("demo", exporter=exporter, sampler=trace_sampler(rules)), exporter


def sent(tracing: Tracing, exporter: XRaySegmentExporter) -> list[dict[str, Any]]:
    tracing.flush_spans()
    return [json.loads(raw) for raw in exporter._pending]


def test_a_sampled_caller_is_followed_even_when_the_rules_would_not_sample() -> None:
    tracing, exporter = tracing_that(samples=False)
    tracer = tracing.tracer("test")
    with (
        tracer.start_as_current_span(
            "GET /x", context=context_from_traceparent(SAMPLED_PARENT), kind=SpanKind.SERVER
        ) as span,
        tracer.start_as_current_span("GET", kind=SpanKind.CLIENT) as call,
    ):
        downstream = current_traceparent()
    assert span.get_span_context().trace_flags.sampled
    assert call.get_span_context().trace_flags.sampled
    assert downstream is not None
    assert downstream.endswith("-01")
    assert len(sent(tracing, exporter)) == 2


def test_an_unsampled_caller_is_followed_even_when_the_rules_would_sample() -> None:
    tracing, exporter = tracing_that(samples=True)
    tracer = tracing.tracer("test")
    with tracer.start_as_current_span(
        "GET /x", context=context_from_traceparent(UNSAMPLED_PARENT), kind=SpanKind.SERVER
    ) as span:
        recording = span.is_recording()  # recorded: kept if it fails
        with tracer.start_as_current_span("GET", kind=SpanKind.CLIENT) as call:
            downstream = current_traceparent()
    assert not span.get_span_context().trace_flags.sampled
    assert recording
    assert not call.get_span_context().trace_flags.sampled
    assert downstream is not None
    assert downstream.endswith("-00")
    assert sent(tracing, exporter) == []


def test_children_follow_a_root_the_rules_decided() -> None:
    for samples in (True, False):
        tracing, _ = tracing_that(samples=samples)
        tracer = tracing.tracer("test")
        with (
            tracer.start_as_current_span("root", kind=SpanKind.SERVER) as root,
            tracer.start_as_current_span("child") as child,
        ):
            pass
        assert root.get_span_context().trace_flags.sampled is samples
        assert child.get_span_context().trace_flags.sampled is samples


class FakeSqs:
    async def change_message_visibility(self, **_: Any) -> None:
        return None

    async def delete_message_batch(self, **_: Any) -> dict[str, Any]:
        return {"Successful": [], "Failed": []}


async def consumed_with(traceparent: str, *, samples: bool) -> tuple[bool, list[dict[str, Any]]]:
    """Whether the consumer's span was sampled, and what it sent, for an event that
    arrived with ``traceparent``."""
    tracing, exporter = tracing_that(samples=samples)
    consumer = SqsConsumer(
        FakeSqs(),  # type: ignore[arg-type]
        ConsumerSettings("test", "https://queue"),
        InMemoryIdempotencyStore(),
        tracer=tracing.tracer("test"),
    )
    flags: list[bool] = []

    async def on_quote(_event: DecodedEvent[Any]) -> None:
        traceparent_here = current_traceparent()
        assert traceparent_here is not None
        flags.append(traceparent_here.endswith("-01"))

    consumer.on("QuoteUpdated", on_quote)
    envelope = quote_envelope(traceparent)
    message = {
        "MessageId": f"m-{uuid.uuid4().hex[:6]}",
        "ReceiptHandle": "handle",
        "Body": envelope.to_json(),
        "Attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "1"},
    }
    await consumer.process_batch([message])
    [sampled] = flags
    return sampled, sent(tracing, exporter)


def quote_envelope(traceparent: str) -> Envelope:
    data = QuoteUpdated(
        symbol="IBM",
        price=Decimal("190.5"),
        currency="USD",
        previous_price=None,
        change=None,
        change_percent=None,
        as_of=datetime.now(UTC) - timedelta(seconds=1),
        provider="replay",
    )
    return CATALOG.new_event(data, subject="Quote#IBM", traceparent=traceparent)


async def test_a_consumer_continues_with_the_flag_its_event_carried() -> None:
    sampled, documents = await consumed_with(SAMPLED_PARENT, samples=False)
    assert sampled
    [segment] = documents
    assert segment["trace_id"] == f"1-{SAMPLED_PARENT[3:11]}-{SAMPLED_PARENT[11:35]}"
    assert segment["parent_id"] == SAMPLED_PARENT[36:52]

    sampled, documents = await consumed_with(UNSAMPLED_PARENT, samples=True)
    assert not sampled
    assert documents == []


class DemoSettings(ServiceSettings):
    port: int = 18997
    table_name: str = "demo-table"


async def test_an_app_samples_with_the_rules_its_settings_name() -> None:
    router = APIRouter()

    @router.get("/api/v1/quotes/{symbol}")
    async def quote(symbol: str) -> dict[str, str]:
        return {"symbol": symbol}

    @router.get("/api/v1/news")
    async def news() -> list[str]:
        return []

    app = create_service_app(
        "demo",
        DemoSettings(trace_sampling_rules=QUOTES_ONLY),
        build=no_components,
        readiness_checks=lambda _aws, _components: [],
        routers=[router],
        signed_identity=False,
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        for path in ("/api/v1/quotes/IBM", "/api/v1/news", "/api/v1/quotes/AAPL"):
            assert (await client.get(path)).status_code == 200
    tracing: Tracing = app.state.tracing
    documents = sent(tracing, tracing.exporter)
    assert sorted(doc["http"]["request"]["url"] for doc in documents) == [
        "http://test/api/v1/quotes/AAPL",
        "http://test/api/v1/quotes/IBM",
    ]
