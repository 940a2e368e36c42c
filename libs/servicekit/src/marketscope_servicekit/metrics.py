"""CloudWatch metrics: buffered in process, flushed with PutMetricData as Values/Counts
arrays (so CloudWatch can compute percentiles), namespace ``MarketScope``.

Every datum carries the ``Service`` dimension. A datum with more dimensions (route and
status, say) is also counted in the ``Service``-only series, because CloudWatch never adds
dimensions together and the dashboard and alarms read that series. The recorder also keeps
a bounded window of raw values per series, so p50/p95/p99 are answerable where the
backend cannot compute percentiles (the embedded emulator returns none).
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections import Counter, deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from marketscope_servicekit.stopping import flush_until_stopped, log_unsent

NAMESPACE = "MarketScope"
# PutMetricData limits: 1,000 metric data per call, 150 distinct values per datum.
MAX_DATA_PER_CALL = 1000
MAX_VALUES_PER_DATUM = 150

logger = logging.getLogger(__name__)

SeriesKey = tuple[str, str, tuple[tuple[str, str], ...]]  # name, unit, dimensions


@dataclass
class _Series:
    values: Counter[float] = field(default_factory=Counter)  # value -> count, since flush
    # (epoch seconds, value) of the newest values, for percentiles over a time window.
    window: deque[tuple[float, float]] = field(default_factory=lambda: deque(maxlen=10_000))


@dataclass(frozen=True)
class Samples:
    """One series' kept raw values: its dimensions (``Service`` left out) and the
    (epoch seconds, value) pairs, oldest first."""

    dimensions: dict[str, str]
    values: list[tuple[float, float]]


def percentile(sorted_values: list[float], fraction: float) -> float:
    """Nearest-rank percentile, as CloudWatch computes pNN."""
    if not sorted_values:
        raise ValueError("no values")
    rank = max(1, math.ceil(fraction * len(sorted_values)))
    return sorted_values[rank - 1]


class MetricsRecorder:
    def __init__(self, service: str, *, namespace: str = NAMESPACE, window: int = 10_000) -> None:
        self.service = service
        self.namespace = namespace
        self._window = window
        self._series: dict[SeriesKey, _Series] = {}

    def _key(self, name: str, unit: str, dimensions: Mapping[str, str] | None) -> SeriesKey:
        extra = tuple(sorted((dimensions or {}).items()))
        return (name, unit, (("Service", self.service), *extra))

    def record(
        self,
        name: str,
        value: float,
        *,
        unit: str = "None",
        dimensions: Mapping[str, str] | None = None,
    ) -> None:
        keys = {self._key(name, unit, dimensions), self._key(name, unit, None)}
        now = time.time()
        for key in keys:
            series = self._series.get(key)
            if series is None:
                series = self._series[key] = _Series(window=deque(maxlen=self._window))
            series.values[value] += 1
            series.window.append((now, value))

    def increment(
        self, name: str, count: float = 1, *, dimensions: Mapping[str, str] | None = None
    ) -> None:
        self.record(name, count, unit="Count", dimensions=dimensions)

    def percentiles(
        self, name: str, *, unit: str = "None", dimensions: Mapping[str, str] | None = None
    ) -> dict[str, float]:
        """p50/p95/p99 over the kept window of raw values (empty when nothing recorded)."""
        series = self._series.get(self._key(name, unit, dimensions))
        if series is None or not series.window:
            return {}
        ordered = sorted(value for _, value in series.window)
        return {f"p{p}": percentile(ordered, p / 100) for p in (50, 95, 99)}

    def samples(self, name: str, *, unit: str = "None") -> list[Samples]:
        """Every series of ``name``: the ``Service``-only one (empty dimensions) and each
        one with more dimensions."""
        return [
            Samples({k: v for k, v in dimensions if k != "Service"}, list(series.window))
            for (series_name, series_unit, dimensions), series in self._series.items()
            if series_name == name and series_unit == unit
        ]

    def pending(self) -> list[dict[str, Any]]:
        """The metric data a flush would send now."""
        timestamp = datetime.now(UTC)
        data: list[dict[str, Any]] = []
        for (name, unit, dimensions), series in self._series.items():
            items = list(series.values.items())
            for start in range(0, len(items), MAX_VALUES_PER_DATUM):
                chunk = items[start : start + MAX_VALUES_PER_DATUM]
                data.append(
                    {
                        "MetricName": name,
                        "Unit": unit,
                        "Timestamp": timestamp,
                        "Dimensions": [{"Name": k, "Value": v} for k, v in dimensions],
                        "Values": [value for value, _ in chunk],
                        "Counts": [float(count) for _, count in chunk],
                    }
                )
        return data

    async def flush(self, cloudwatch: Any) -> int:
        """Send what was recorded since the last flush. Returns the data sent; what
        could not be sent is kept for the next flush."""
        data = self.pending()
        for series in self._series.values():
            series.values.clear()
        sent = 0
        for start in range(0, len(data), MAX_DATA_PER_CALL):
            chunk = data[start : start + MAX_DATA_PER_CALL]
            try:
                await cloudwatch.put_metric_data(Namespace=self.namespace, MetricData=chunk)
            except (ClientError, BotoCoreError):
                logger.warning("metrics flush failed; keeping them", exc_info=True)
                self._restore(data[start:])
                break
            sent += len(chunk)
        return sent

    def _restore(self, data: list[dict[str, Any]]) -> None:
        for datum in data:
            dimensions = tuple((d["Name"], d["Value"]) for d in datum["Dimensions"])
            series = self._series.setdefault(
                (datum["MetricName"], datum["Unit"], dimensions), _Series()
            )
            for value, count in zip(datum["Values"], datum["Counts"], strict=True):
                series.values[value] += int(count)

    async def run(
        self,
        cloudwatch: Any,
        stop: asyncio.Event,
        *,
        interval: float = 10.0,
        final_flush_seconds: float = 3.0,
    ) -> None:
        """Flush every ``interval`` seconds until ``stop``, then once more (bounded)."""
        await flush_until_stopped(
            lambda: self.flush(cloudwatch),
            stop,
            interval=interval,
            final_flush_seconds=final_flush_seconds,
            on_final_timeout=log_unsent(
                logger,
                "final metrics flush timed out; %d series dropped",
                lambda: len(self._series),
            ),
        )
