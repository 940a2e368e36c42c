"""`marketscope trace <id>`: one trace's X-Ray segments as a tree of spans.

Every service sends its spans to X-Ray as segment documents (`marketscope_servicekit.
tracing`): server and consumer spans are segments named after the service, the spans
inside them independent subsegments pointing at their parent by ``parent_id``. The tree
joins them again by id, whichever service sent which part.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from marketscope_cli.errors import CliError

_XRAY_ID = re.compile(r"^1-[0-9a-f]{8}-[0-9a-f]{24}$")
_W3C_ID = re.compile(r"^[0-9a-f]{32}$")
_TRACEPARENT = re.compile(r"^00-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$")


def xray_trace_id(text: str) -> str:
    """The X-Ray id (``1-<8 hex>-<24 hex>``) of a trace named as X-Ray names it, as a
    W3C trace id (32 hex, as the logs carry it) or as a whole ``traceparent``."""
    value = text.strip().lower()
    if _XRAY_ID.match(value):
        return value
    parent = _TRACEPARENT.match(value)
    if parent:
        value = parent.group(1)
    if _W3C_ID.match(value):
        return f"1-{value[:8]}-{value[8:]}"
    raise CliError(
        f"{text!r} is not a trace id: give 1-<8 hex>-<24 hex> (X-Ray), 32 hex digits "
        "(a log line's trace_id) or a traceparent"
    )


@dataclass
class Span:
    """One segment or subsegment of the trace."""

    id: str
    parent_id: str | None
    service: str
    name: str
    start: float
    end: float | None
    status: int | None = None
    fault: bool = False
    error: bool = False
    children: list[Span] = field(default_factory=list)

    @property
    def duration_ms(self) -> float | None:
        return None if self.end is None else (self.end - self.start) * 1000


def _span(document: dict[str, Any], service: str, parent_id: str | None) -> Span:
    annotations = document.get("annotations") or {}
    name = str(annotations.get("span_name") or document.get("name", "?"))
    status = (document.get("http") or {}).get("response", {}).get("status")
    end = document.get("end_time")
    return Span(
        id=str(document["id"]),
        parent_id=document.get("parent_id", parent_id),
        service=service,
        name=name,
        start=float(document.get("start_time", 0.0)),
        end=None if end is None else float(end),
        status=int(status) if isinstance(status, int) else None,
        fault=bool(document.get("fault")),
        error=bool(document.get("error")),
    )


def spans_of(documents: Iterable[dict[str, Any]]) -> Iterator[Span]:
    """Every span of the documents, nested subsegments included. A subsegment sent on its
    own names its service nowhere: it takes its segment's, found through its parents."""
    flat: list[tuple[dict[str, Any], str | None, str | None]] = []

    def walk(document: dict[str, Any], parent_id: str | None, service: str | None) -> None:
        own = None if document.get("type") == "subsegment" else str(document.get("name"))
        flat.append((document, parent_id, own or service))
        for child in document.get("subsegments") or ():
            walk(child, str(document["id"]), own or service)

    for document in documents:
        walk(document, None, None)
    services = {str(d["id"]): s for d, _, s in flat if s is not None}
    parents = {str(d["id"]): d.get("parent_id", p) for d, p, _ in flat}
    for document, parent_id, service in flat:
        found = service
        cursor = parents.get(str(document["id"]))
        hops = 0
        while found is None and cursor is not None and hops < len(flat):
            found = services.get(cursor)
            cursor = parents.get(cursor)
            hops += 1
        yield _span(document, found or "?", parent_id)


def tree(documents: Iterable[dict[str, Any]]) -> list[Span]:
    """The trace's roots (spans whose parent is not in the trace), children in start
    order. A parent can be missing: a caller outside the platform, or a segment its
    service has not sent yet."""
    spans = {span.id: span for span in spans_of(documents)}
    roots: list[Span] = []
    for span in spans.values():
        parent = spans.get(span.parent_id) if span.parent_id else None
        (parent.children if parent is not None else roots).append(span)
    for span in spans.values():
        span.children.sort(key=lambda child: child.start)
    return sorted(roots, key=lambda root: root.start)


async def trace_documents(xray: Any, trace_id: str) -> list[dict[str, Any]]:
    """The segment documents X-Ray holds for ``trace_id`` (empty when it has none)."""
    response = await xray.batch_get_traces(TraceIds=[trace_id])
    documents: list[dict[str, Any]] = []
    for found in response.get("Traces", []):
        for segment in found.get("Segments", []):
            documents.append(json.loads(segment["Document"]))
    return documents
