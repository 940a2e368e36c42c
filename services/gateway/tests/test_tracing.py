"""One trace from the gateway into market-data, read back from X-Ray: a quote request
through the gateway to the real market-data app leaves gateway and market-data segments
under one trace id."""

from __future__ import annotations

import asyncio
import contextvars
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from opentelemetry.sdk.extension.aws.trace import AwsXRayIdGenerator
from starlette.types import ASGIApp, Receive, Scope, Send

from marketscope_gateway.main import create_app
from marketscope_market_data.main import create_app as create_market_data_app
from marketscope_market_data.settings import Settings as MarketDataSettings
from marketscope_platform import AwsClients
from marketscope_platform.aws import AwsSettings

from .conftest import PASSWORD, gateway_settings

pytestmark = pytest.mark.integration


def across_a_network(app: ASGIApp) -> ASGIApp:
    """``app`` served in a context of its own, as in its own process: in-process ASGI
    would otherwise inherit the caller's active span instead of reading ``traceparent``."""

    async def isolated(scope: Scope, receive: Receive, send: Send) -> None:
        await asyncio.create_task(app(scope, receive, send), context=contextvars.Context())

    return isolated


async def read_trace(aws: AwsClients, trace_id: str, since: datetime) -> list[dict[str, Any]]:
    xray = await aws.client("xray")
    for _ in range(50):
        summaries = await xray.get_trace_summaries(
            StartTime=since, EndTime=datetime.now(UTC) + timedelta(minutes=1)
        )
        if any(summary["Id"] == trace_id for summary in summaries["TraceSummaries"]):
            traces = (await xray.batch_get_traces(TraceIds=[trace_id]))["Traces"]
            return [json.loads(segment["Document"]) for segment in traces[0]["Segments"]]
        await asyncio.sleep(0.1)
    raise AssertionError(f"trace {trace_id} not in X-Ray")


async def test_gateway_and_market_data_segments_share_one_trace(
    provisioned: str, aws_settings: AwsSettings, aws: AwsClients
) -> None:
    market_data = create_market_data_app(
        MarketDataSettings(live_refresh=False, embedded_scheduler=False), aws_settings
    )
    gateway = create_app(
        gateway_settings(),
        aws_settings,
        transports={"market-data": httpx.ASGITransport(app=across_a_network(market_data))},
    )
    since = datetime.now(UTC) - timedelta(minutes=1)
    ids = AwsXRayIdGenerator()
    trace_hex = f"{ids.generate_trace_id():032x}"
    traceparent = f"00-{trace_hex}-{ids.generate_span_id():016x}-01"
    async with (
        market_data.router.lifespan_context(market_data),
        gateway.router.lifespan_context(gateway),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=gateway), base_url="http://gw"
        ) as client,
    ):
        credentials = {"email": f"tracer-{trace_hex[:12]}@example.com", "password": PASSWORD}
        await client.post("/api/v1/auth/register", json=credentials)
        login = await client.post("/api/v1/auth/login", json=credentials)
        headers = {
            "Authorization": f"Bearer {login.json()['access_token']}",
            "traceparent": traceparent,
        }
        quote = await client.get("/api/v1/quotes/AAPL", headers=headers)
    # Both lifespans flushed their segments to X-Ray as they stopped.
    assert quote.status_code == 200, quote.text
    assert quote.json()["symbol"] == "AAPL"

    trace_id = f"1-{trace_hex[:8]}-{trace_hex[8:]}"
    documents = await read_trace(aws, trace_id, since)
    segments = {doc["name"]: doc for doc in documents if doc.get("type") != "subsegment"}
    assert {"marketscope-gateway", "marketscope-market-data"} <= set(segments)
    gateway_segment = segments["marketscope-gateway"]
    assert gateway_segment["annotations"]["route"] == "/api/v1/quotes/{symbol}"
    call = next(doc for doc in documents if doc.get("namespace") == "remote")
    assert call["parent_id"] == gateway_segment["id"]
    market_segment = segments["marketscope-market-data"]
    assert market_segment["parent_id"] == call["id"]
    assert market_segment["http"]["response"]["status"] == 200
    assert all(doc["trace_id"] == trace_id for doc in documents)
