"""Log lines to CloudWatch Logs: PutLogEvents limits, a full buffer that drops and counts,
and a service's lines in its group with their trace and request ids."""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections import deque
from typing import Any

import httpx
import pytest
from fastapi import APIRouter

from marketscope_platform.aws import AwsClients, AwsSettings
from marketscope_servicekit import create_service_app
from marketscope_servicekit.log_shipping import (
    EVENT_OVERHEAD_BYTES,
    MAX_BYTES_PER_CALL,
    MAX_EVENT_BYTES,
    MAX_EVENTS_PER_CALL,
    MAX_SPAN_MS,
    LogEvent,
    LogShipper,
    ShippingHandler,
    next_batch,
)
from marketscope_servicekit.logging import JsonFormatter
from marketscope_servicekit.request_context import current_trace_id
from marketscope_servicekit.testing import no_components

from .conftest import DemoSettings

logger = logging.getLogger("demo.routes")


def record(message: str, name: str = "demo") -> logging.LogRecord:
    return logging.makeLogRecord({"name": name, "msg": message, "levelno": 20})


def test_a_batch_stops_at_the_event_count_the_byte_size_and_the_day() -> None:
    many = deque(LogEvent(1_000 + i, "x") for i in range(MAX_EVENTS_PER_CALL + 5))
    assert len(next_batch(many)) == MAX_EVENTS_PER_CALL
    assert len(many) == 5

    line = "y" * (100_000 - EVENT_OVERHEAD_BYTES)  # 100,000 bytes with its overhead
    large = deque(LogEvent(1_000, line) for _ in range(12))
    batch = next_batch(large)
    assert len(batch) == MAX_BYTES_PER_CALL // 100_000 == 10
    assert sum(event.size for event in batch) <= MAX_BYTES_PER_CALL

    spread = deque([LogEvent(0, "a"), LogEvent(MAX_SPAN_MS, "b"), LogEvent(MAX_SPAN_MS + 1, "c")])
    assert [e.message for e in next_batch(spread)] == ["a", "b"]
    assert [e.message for e in next_batch(spread)] == ["c"]


def test_a_full_buffer_drops_and_counts_without_blocking() -> None:
    handler = ShippingHandler("demo", capacity=100)
    handler.setFormatter(JsonFormatter("demo"))
    for i in range(150):
        handler.handle(record(f"line {i}"))
    assert handler.lines.qsize() == 100
    assert handler.dropped == 50
    first = handler.lines.get_nowait()
    assert json.loads(first.message)["message"] == "line 0"  # the oldest kept, in order


def test_long_lines_are_cut_to_the_event_limit_and_sdk_lines_stay_home() -> None:
    handler = ShippingHandler("demo")
    handler.setFormatter(logging.Formatter("%(message)s"))
    handler.handle(record("z" * (MAX_EVENT_BYTES + 500)))
    handler.handle(record("signed request", name="botocore.auth"))
    handler.handle(record("sent", name="aiobotocore.endpoint"))
    [cut] = [handler.lines.get_nowait() for _ in range(handler.lines.qsize())]
    assert len(cut.message.encode()) <= MAX_EVENT_BYTES
    assert cut.message.endswith("...[cut]")


class RefusingLogs:
    """A CloudWatch Logs client whose PutLogEvents fails until told otherwise."""

    def __init__(self) -> None:
        self.refusing = True
        self.sent: list[list[dict[str, Any]]] = []

    async def create_log_stream(self, **_: Any) -> None:
        return None

    async def put_log_events(self, **request: Any) -> None:
        from botocore.exceptions import EndpointConnectionError

        if self.refusing:
            raise EndpointConnectionError(endpoint_url="http://logs")
        self.sent.append(request["logEvents"])


async def test_what_cloudwatch_refuses_is_kept_for_the_next_flush() -> None:
    shipper = LogShipper("demo", capacity=1_000)
    shipper.handler.setFormatter(logging.Formatter("%(message)s"))
    for i in range(3):
        shipper.handler.handle(record(f"kept {i}"))
    logs = RefusingLogs()
    assert await shipper.flush(logs) == 0
    logs.refusing = False
    assert await shipper.flush(logs) == 3
    [events] = logs.sent
    assert [e["message"] for e in events] == ["kept 0", "kept 1", "kept 2"]
    assert [e["timestamp"] for e in events] == sorted(e["timestamp"] for e in events)


@pytest.mark.integration
async def test_a_services_lines_reach_its_group_with_trace_and_request_ids(
    aws_settings: AwsSettings, aws: AwsClients
) -> None:
    service = f"demo-{uuid.uuid4().hex[:8]}"
    router = APIRouter()

    @router.get("/work")
    async def work() -> dict[str, str | None]:
        logger.info("work done", extra={"items": 3})
        return {"trace_id": current_trace_id()}

    app = create_service_app(
        service,
        DemoSettings(),
        build=no_components,
        readiness_checks=lambda _aws, _components: [],
        routers=[router],
        signed_identity=False,
        aws_settings=aws_settings,
    )
    request_id = f"req-{uuid.uuid4().hex[:12]}"
    started_ms = int(time.time() * 1000) - 1_000
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            answer = await client.get("/work", headers={"X-Request-Id": request_id})
            unnamed = await client.get("/work")
    # The lifespan's last flush sent what was queued.
    assert answer.headers["X-Request-Id"] == request_id
    assert len(unnamed.headers["X-Request-Id"]) == 32  # one of its own
    trace_id = answer.json()["trace_id"]
    assert trace_id is not None

    logs = await aws.client("logs")
    group = f"/marketscope/{service}"
    streams = (await logs.describe_log_streams(logGroupName=group))["logStreams"]
    assert [s["logStreamName"] for s in streams] == [app.state.log_shipper.stream]
    events = (await logs.filter_log_events(logGroupName=group, startTime=started_ms))["events"]
    lines = [json.loads(event["message"]) for event in events]
    [done, other] = [line for line in lines if line["message"] == "work done"]
    assert (done["trace_id"], done["request_id"], done["items"]) == (trace_id, request_id, 3)
    assert done["service"] == service
    assert other["request_id"] == unnamed.headers["X-Request-Id"]
    assert other["trace_id"] != trace_id
    assert {"service started", "service stopped"} <= {line["message"] for line in lines}
    assert app.state.log_shipper.dropped == 0
