"""`marketscope logs <service>`: a service's lines from CloudWatch Logs (FilterLogEvents
over every instance's stream of ``/marketscope/<service>``), optionally only one trace's,
optionally following new ones as they arrive."""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from marketscope_cli.errors import CliError
from marketscope_cli.traces import xray_trace_id

_DURATION = re.compile(r"^(\d+)([smhd])$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86_400}
FOLLOW_SECONDS = 2.0


def since_ms(text: str, *, now: float | None = None) -> int:
    """``10m``, ``2h``, ``30s``, ``1d`` ago, in epoch milliseconds."""
    match = _DURATION.match(text.strip())
    if match is None:
        raise CliError(f"--since {text!r}: give a number and s, m, h or d (10m, 2h)")
    seconds = int(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    return int(((now if now is not None else time.time()) - seconds) * 1000)


def trace_filter(trace: str) -> str:
    """The filter pattern matching lines of one trace: its W3C id as a quoted term (log
    lines carry it so; JSON filter patterns would say the same, but not every backend
    evaluates them)."""
    xray = xray_trace_id(trace)
    return f'"{xray[2:10]}{xray[11:]}"'


@dataclass(frozen=True)
class LogLine:
    event_id: str
    timestamp_ms: int
    stream: str
    message: str

    def fields(self) -> dict[str, Any] | None:
        try:
            parsed = json.loads(self.message)
        except ValueError:
            return None
        return parsed if isinstance(parsed, dict) else None


async def _pages(logs: Any, request: dict[str, Any]) -> AsyncIterator[LogLine]:
    token: str | None = None
    while True:
        page = await logs.filter_log_events(**request, **({"nextToken": token} if token else {}))
        for event in page.get("events", []):
            yield LogLine(
                str(event.get("eventId", "")),
                int(event["timestamp"]),
                str(event.get("logStreamName", "")),
                str(event["message"]),
            )
        token = page.get("nextToken")
        if not token:
            return


async def read_lines(
    logs: Any,
    group: str,
    *,
    start_ms: int,
    pattern: str | None = None,
    follow: bool = False,
    poll_seconds: float = FOLLOW_SECONDS,
) -> AsyncIterator[LogLine]:
    """The group's lines from ``start_ms`` in time order; with ``follow``, then the new
    ones every ``poll_seconds`` until cancelled."""
    seen: dict[str, int] = {}  # ids at or after the cursor, which the next poll repeats
    cursor = start_ms
    while True:
        request: dict[str, Any] = {"logGroupName": group, "startTime": cursor}
        if pattern:
            request["filterPattern"] = pattern
        try:
            batch = [line async for line in _pages(logs, request) if line.event_id not in seen]
        except logs.exceptions.ResourceNotFoundException as exc:
            raise CliError(f"no log group {group}: run `marketscope provision`") from exc
        batch.sort(key=lambda line: line.timestamp_ms)
        for line in batch:
            seen[line.event_id] = line.timestamp_ms
            cursor = max(cursor, line.timestamp_ms)
            yield line
        if not follow:
            return
        seen = {event_id: at for event_id, at in seen.items() if at >= cursor}
        await asyncio.sleep(poll_seconds)
