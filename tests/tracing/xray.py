"""Reading one trace back from X-Ray as the operator's `marketscope trace` does."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from opentelemetry.sdk.extension.aws.trace import AwsXRayIdGenerator

from marketscope_cli.traces import Span, spans_of, trace_documents, xray_trace_id
from marketscope_platform.aws import AwsClients

# Services send their spans every second; a consumer handles an event a moment later.
TRACE_SECONDS = 90.0


def new_traceparent() -> str:
    """A sampled ``traceparent`` with an X-Ray-shaped trace id, as a caller would send."""
    ids = AwsXRayIdGenerator()
    return f"00-{ids.generate_trace_id():032x}-{ids.generate_span_id():016x}-01"


async def spans_once(
    aws: AwsClients, traceparent: str, complete: Callable[[list[Span]], bool]
) -> list[Span]:
    """The trace's spans, as soon as ``complete`` holds for them."""
    xray = await aws.client("xray")
    trace_id = xray_trace_id(traceparent)
    deadline = time.monotonic() + TRACE_SECONDS
    spans: list[Span] = []
    while time.monotonic() < deadline:
        documents: list[dict[str, Any]] = await trace_documents(xray, trace_id)
        spans = list(spans_of(documents))
        if complete(spans):
            return spans
        await asyncio.sleep(0.5)
    seen = sorted({(span.service, span.name) for span in spans})
    raise AssertionError(f"trace {trace_id} never complete; it has {seen}")


def services(spans: list[Span]) -> set[str]:
    return {span.service for span in spans}


def consumer_spans(spans: list[Span], event_type: str) -> dict[str, Span]:
    """Each service's span handling ``event_type`` (the consumer names it so)."""
    return {span.service: span for span in spans if span.name == f"{event_type} process"}


def ancestors(span: Span, spans: list[Span]) -> list[Span]:
    """``span``'s parents within the trace, nearest first."""
    by_id = {each.id: each for each in spans}
    found: list[Span] = []
    cursor = by_id.get(span.parent_id) if span.parent_id else None
    while cursor is not None and cursor not in found:
        found.append(cursor)
        cursor = by_id.get(cursor.parent_id) if cursor.parent_id else None
    return found
