"""Summaries of timed values (nearest-rank percentiles, as CloudWatch computes them) and a
progress line for the long phases."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from typing import Any

from marketscope_servicekit.metrics import percentile

Log = Callable[[str], None]


def summary(values: Sequence[float]) -> dict[str, Any]:
    """count, p50/p95/p99, max and mean of ``values`` (ms), rounded to 0.1."""
    ordered = sorted(values)
    if not ordered:
        return {"count": 0}
    return {
        "count": len(ordered),
        "p50_ms": round(percentile(ordered, 0.50), 1),
        "p95_ms": round(percentile(ordered, 0.95), 1),
        "p99_ms": round(percentile(ordered, 0.99), 1),
        "max_ms": round(ordered[-1], 1),
        "mean_ms": round(statistics.fmean(ordered), 1),
    }


def rate(count: int, seconds: float) -> float:
    return round(count / seconds, 1) if seconds > 0 else 0.0


class Progress:
    """Logs ``done/total`` at most every ``every`` seconds, and once at the end."""

    def __init__(self, log: Log, what: str, total: int, every: float = 5.0) -> None:
        self._log = log
        self._what = what
        self._total = total
        self._every = every
        self._started = time.perf_counter()
        self._last = self._started
        self.done = 0

    def advance(self, count: int = 1) -> None:
        self.done += count
        now = time.perf_counter()
        if self.done >= self._total or now - self._last >= self._every:
            self._last = now
            elapsed = now - self._started
            self._log(
                f"  {self._what}: {self.done}/{self._total} in {elapsed:.1f} s "
                f"({rate(self.done, elapsed)}/s)"
            )
