"""Measuring: percentiles, and the wall time, CPU and requests a phase costs."""

from __future__ import annotations

import contextlib
import math
import os
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any


def percentile(values: Sequence[float], q: float) -> float | None:
    """Linear interpolation between closest ranks; None without values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def latency_summary(values: Sequence[float]) -> dict[str, float | int | None]:
    return {
        "count": len(values),
        "p50_ms": percentile(values, 50),
        "p95_ms": percentile(values, 95),
        "p99_ms": percentile(values, 99),
        "max_ms": max(values) if values else None,
    }


def process_cpu_seconds(pid: int) -> float | None:
    """User + system CPU of ``pid`` and its descendants (Linux /proc; None elsewhere)."""
    try:
        ticks = os.sysconf("SC_CLK_TCK")
        total, pending = 0.0, [pid]
        while pending:
            current = pending.pop()
            stat = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(stat[11]) + int(stat[12])) / ticks
            # Every thread's children: a multithreaded parent (uv) may start one from any.
            for task in Path(f"/proc/{current}/task").iterdir():
                pending.extend(int(child) for child in (task / "children").read_text().split())
        return total
    except (OSError, ValueError, IndexError):
        return None


class RequestCounter:
    """Counts the HTTP requests the clients send, by ``service.Operation``."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()

    def attach(self, client: Any) -> None:
        client.meta.events.register("before-send", self._count)

    def _count(self, event_name: str = "", **_: Any) -> None:
        self.counts[event_name.removeprefix("before-send.")] += 1


@dataclass
class Usage:
    """A phase's wall time, CPU of this process and of the emulator, requests sent."""

    wall_s: float
    client_cpu_s: float
    emulator_cpu_s: float | None
    requests: dict[str, int]

    @property
    def total_requests(self) -> int:
        return sum(self.requests.values())

    def per(self, units: int) -> dict[str, float | None]:
        """Requests and CPU milliseconds per message (ceiling) or delivery (pipeline)."""
        if units <= 0:
            return {"requests": None, "client_cpu_ms": None, "emulator_cpu_ms": None}
        emulator = self.emulator_cpu_s
        return {
            "requests": self.total_requests / units,
            "client_cpu_ms": self.client_cpu_s * 1000 / units,
            "emulator_cpu_ms": None if emulator is None else emulator * 1000 / units,
        }

    def as_dict(self) -> dict[str, Any]:
        busy = None if self.emulator_cpu_s is None else self.emulator_cpu_s / self.wall_s
        return {
            **asdict(self),
            "total_requests": self.total_requests,
            "emulator_busy": busy,  # emulator CPU seconds per wall second
        }


class UsageMeter:
    def __init__(self, counter: RequestCounter, emulator_pid: int | None) -> None:
        self._counter = counter
        self._pid = emulator_pid

    @contextlib.contextmanager
    def measure(self) -> Iterator[list[Usage]]:
        """Yields a list that holds the block's `Usage` once the block is left."""
        holder: list[Usage] = []
        requests = Counter(self._counter.counts)
        wall, cpu, emulator = time.perf_counter(), time.process_time(), self._emulator_cpu()
        try:
            yield holder
        finally:
            emulator_end = self._emulator_cpu()
            emulator_cpu = None
            if emulator is not None and emulator_end is not None:
                emulator_cpu = emulator_end - emulator
            holder.append(
                Usage(
                    wall_s=time.perf_counter() - wall,
                    client_cpu_s=time.process_time() - cpu,
                    emulator_cpu_s=emulator_cpu,
                    requests=dict(self._counter.counts - requests),
                )
            )

    def _emulator_cpu(self) -> float | None:
        return None if self._pid is None else process_cpu_seconds(self._pid)
