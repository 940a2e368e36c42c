"""One streamed turn, timed as a client sees it: the first byte of the body, the first
server-sent event, and ``message.completed`` (the full answer), all from the moment the
request is sent."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from marketscope_servicekit.metrics import percentile

STREAM = {"Accept": "text/event-stream"}


@dataclass
class StreamedTurn:
    first_byte_ms: float
    first_event_ms: float
    completed_ms: float | None  # None: the stream ended without message.completed
    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    @property
    def names(self) -> list[str]:
        return [name for name, _ in self.events]

    def first(self, name: str) -> dict[str, Any] | None:
        return next((data for event, data in self.events if event == name), None)

    @property
    def tools(self) -> list[str]:
        return [data["name"] for event, data in self.events if event == "tool_call.started"]

    @property
    def tool_errors(self) -> list[str]:
        return [
            f"{data['name']}: {data['error']}"
            for event, data in self.events
            if event == "tool_call.completed" and not data["ok"]
        ]


def _frame(block: bytes) -> tuple[str, dict[str, Any]] | None:
    event, data = "message", []
    for line in block.decode().splitlines():
        if line.startswith("event:"):
            event = line[6:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].strip())
    return (event, json.loads("\n".join(data))) if data else None


async def stream_turn(
    client: httpx.AsyncClient,
    path: str,
    question: str,
    headers: Mapping[str, str] | None = None,
) -> StreamedTurn:
    """POST ``question`` to ``path`` and read the event stream to its end."""
    started = time.perf_counter()
    first_byte: float | None = None
    first_event: float | None = None
    completed: float | None = None
    events: list[tuple[str, dict[str, Any]]] = []
    buffer = b""
    body = {"content": question}
    async with client.stream(
        "POST", path, json=body, headers={**(headers or {}), **STREAM}
    ) as response:
        if response.status_code != 200:
            await response.aread()
            raise RuntimeError(f"POST {path}: {response.status_code} {response.text}")
        async for chunk in response.aiter_bytes():
            now = time.perf_counter()
            first_byte = first_byte or now
            buffer += chunk
            while b"\n\n" in buffer:
                block, buffer = buffer.split(b"\n\n", 1)
                frame = _frame(block)
                if frame is None:
                    continue
                first_event = first_event or now
                events.append(frame)
                if frame[0] == "message.completed":
                    completed = now
    if first_byte is None or first_event is None:
        raise RuntimeError(f"POST {path}: the stream ended without an event")
    return StreamedTurn(
        first_byte_ms=(first_byte - started) * 1000,
        first_event_ms=(first_event - started) * 1000,
        completed_ms=None if completed is None else (completed - started) * 1000,
        events=events,
    )


def summary(values_ms: Sequence[float]) -> dict[str, float | int]:
    ordered = sorted(values_ms)
    return {
        "count": len(ordered),
        "p50_ms": round(percentile(ordered, 0.50), 1),
        "p95_ms": round(percentile(ordered, 0.95), 1),
        "max_ms": round(ordered[-1], 1),
    }
