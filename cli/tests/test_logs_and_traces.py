"""`marketscope logs` and `marketscope trace` against the AWS backend over HTTP: lines as
services ship them, segments as services send them."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from typing import Any

import pytest

from marketscope_cli import logs
from marketscope_cli.app import app
from marketscope_cli.errors import CliError
from marketscope_cli.traces import tree, xray_trace_id
from marketscope_platform import AwsClients
from marketscope_platform.topology import log_group_name

from .helpers import invoke, runner

W3C = "6718a7b2c3d4e5f60718293a4b5c6d7e"


def line(message: str, trace_id: str | None, level: str = "INFO") -> str:
    return json.dumps(
        {"time": "2026-12-03T07:00:00.000+00:00", "level": level, "service": "chat"}
        | {"logger": "marketscope_chat.turns", "message": message, "trace_id": trace_id}
    )


async def ship(aws: AwsClients, service: str, messages: list[str]) -> str:
    client = await aws.client("logs")
    group = log_group_name(service)
    with contextlib.suppress(client.exceptions.ResourceAlreadyExistsException):
        await client.create_log_group(logGroupName=group)
    stream = f"test-{uuid.uuid4().hex[:8]}"
    await client.create_log_stream(logGroupName=group, logStreamName=stream)
    now = int(time.time() * 1000)
    await client.put_log_events(
        logGroupName=group,
        logStreamName=stream,
        logEvents=[{"timestamp": now + i, "message": m} for i, m in enumerate(messages)],
    )
    return stream


def test_trace_ids_are_taken_in_every_form_the_platform_prints() -> None:
    xray = f"1-{W3C[:8]}-{W3C[8:]}"
    assert xray_trace_id(xray) == xray
    assert xray_trace_id(W3C.upper()) == xray
    assert xray_trace_id(f"00-{W3C}-00f067aa0ba902b7-01") == xray
    with pytest.raises(CliError, match="not a trace id"):
        xray_trace_id("abc")
    assert logs.trace_filter(xray) == f'"{W3C}"'
    assert logs.since_ms("10m", now=1_000.0) == 400_000
    with pytest.raises(CliError, match="--since"):
        logs.since_ms("ten minutes")


@pytest.mark.integration
async def test_logs_shows_one_traces_lines_of_every_instance(
    cli_env: None, aws: AwsClients
) -> None:
    trace_id = uuid.uuid4().hex
    await ship(aws, "chat", [line("turn started", trace_id), line("unrelated", uuid.uuid4().hex)])
    await ship(aws, "chat", [line("tool failed", trace_id, level="ERROR"), "plain text line"])

    shown = await asyncio.to_thread(invoke, "logs", "chat", "--trace", trace_id, "--since", "5m")
    assert "turn started" in shown
    assert "tool failed" in shown
    assert "unrelated" not in shown
    assert "plain text line" not in shown
    assert shown.index("turn started") < shown.index("tool failed")
    assert f"trace={trace_id}" in shown

    everything = await asyncio.to_thread(invoke, "logs", "chat", "--since", "5m", "--json")
    assert "plain text line" in everything
    assert f'"trace_id": "{trace_id}"' in everything

    none = await asyncio.to_thread(invoke, "logs", "chat", "--trace", uuid.uuid4().hex)
    assert "no lines of trace" in none


@pytest.mark.integration
async def test_following_prints_lines_shipped_after_it_started(aws: AwsClients) -> None:
    client = await aws.client("logs")
    trace_id = uuid.uuid4().hex
    await ship(aws, "notifier", [line("before", trace_id)])
    seen: list[str] = []

    async def follow() -> None:
        async for found in logs.read_lines(
            client,
            log_group_name("notifier"),
            start_ms=int(time.time() * 1000) - 60_000,
            pattern=logs.trace_filter(trace_id),
            follow=True,
            poll_seconds=0.2,
        ):
            seen.append(json.loads(found.message)["message"])

    following = asyncio.create_task(follow())
    await ship(aws, "notifier", [line("after", trace_id)])
    deadline = time.monotonic() + 10
    while len(seen) < 2 and time.monotonic() < deadline:  # noqa: ASYNC110 - it polls AWS
        await asyncio.sleep(0.1)
    following.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await following
    assert seen == ["before", "after"]  # each once, though every poll re-reads the last


def segment(span_id: str, name: str, start: float, end: float, **extra: Any) -> dict[str, Any]:
    return {
        "id": span_id,
        "trace_id": f"1-{W3C[:8]}-{W3C[8:]}",
        "name": name,
        "start_time": start,
        "end_time": end,
        **extra,
    }


def test_the_tree_joins_segments_and_subsegments_of_every_service() -> None:
    now = time.time()
    documents = [
        segment(
            "a" * 16, "marketscope-gateway", now, now + 0.2, annotations={"span_name": "GET /x"}
        ),
        segment(
            "b" * 16,
            "market-data:8002",
            now + 0.01,
            now + 0.1,
            type="subsegment",
            parent_id="a" * 16,
            namespace="remote",
        ),
        segment("c" * 16, "marketscope-market-data", now + 0.02, now + 0.09, parent_id="b" * 16),
        segment(
            "d" * 16,
            "marketscope-notifier",
            now + 0.3,
            now + 0.35,
            parent_id="c" * 16,
            annotations={"span_name": "QuoteUpdated process"},
        ),
    ]
    [root] = tree(documents)
    assert (root.service, root.name) == ("marketscope-gateway", "GET /x")
    [call] = root.children
    assert call.service == "marketscope-gateway"  # a subsegment is its segment's service's
    [market] = call.children
    [consumer] = market.children
    assert (consumer.service, consumer.name) == ("marketscope-notifier", "QuoteUpdated process")
    assert consumer.duration_ms == pytest.approx(50, abs=1)


@pytest.mark.integration
async def test_trace_prints_the_tree_with_service_span_and_duration(
    cli_env: None, aws: AwsClients
) -> None:
    hex_id = uuid.uuid4().hex
    hex_id = f"{int(time.time()):08x}{hex_id[8:]}"
    xray_id = f"1-{hex_id[:8]}-{hex_id[8:]}"
    now = time.time()
    documents = [
        segment("1" * 16, "marketscope-gateway", now, now + 0.25)
        | {"trace_id": xray_id, "annotations": {"span_name": "POST /api/v1/documents"}},
        segment("2" * 16, "marketscope-rag", now + 0.3, now + 0.42)
        | {
            "trace_id": xray_id,
            "parent_id": "1" * 16,
            "annotations": {"span_name": "DocumentUploaded process"},
        },
    ]
    xray = await aws.client("xray")
    await xray.put_trace_segments(TraceSegmentDocuments=[json.dumps(d) for d in documents])

    shown = await asyncio.to_thread(invoke, "trace", hex_id)
    assert f"trace {xray_id}: 2 spans" in shown
    gateway_line = next(row for row in shown.splitlines() if "POST /api/v1/documents" in row)
    rag_line = next(row for row in shown.splitlines() if "DocumentUploaded process" in row)
    assert "marketscope-gateway" in gateway_line
    assert "250.0 ms" in gateway_line
    assert "marketscope-rag" in rag_line
    assert "120.0 ms" in rag_line
    # The consumer is drawn under the request that caused it.
    assert shown.splitlines().index(rag_line) > shown.splitlines().index(gateway_line)
    assert rag_line.index("marketscope-rag") > gateway_line.index("marketscope-gateway")

    missing = await asyncio.to_thread(runner.invoke, app, ["trace", uuid.uuid4().hex])
    assert missing.exit_code == 1
    assert "X-Ray has no trace" in missing.output
