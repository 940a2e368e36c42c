"""Per-delivery and per-event latencies from the consumers' reports."""

from __future__ import annotations

import asyncio
import math
import time
from collections import Counter, defaultdict
from collections.abc import Callable

from marketscope_events import MessageReport, Outcome


class DeliveryTracker:
    """Turns the consumers' reports into per-delivery and per-event latencies."""

    def __init__(self, fan_out: int) -> None:
        self.fan_out = fan_out
        self.outcomes: Counter[str] = Counter()
        self.delivery_lags_ms: list[float] = []
        self.event_lags_ms: list[float] = []  # until the last consumer handled it
        self.delivered = 0  # events handled by every consumer
        self.last_delivered_at = 0.0
        self.on_delivered: Callable[[], None] | None = None
        self._lags: dict[str, list[float]] = defaultdict(list)
        self._waiters: dict[str, asyncio.Future[float]] = {}
        self._target: tuple[int, asyncio.Event] | None = None

    def report(self, report: MessageReport) -> None:
        """The consumers' ``on_report`` sink."""
        self.outcomes[report.outcome.value] += 1
        if report.outcome is not Outcome.HANDLED or report.event_id is None:
            return
        lag = report.lag_ms if report.lag_ms is not None else math.nan
        self.delivery_lags_ms.append(lag)
        lags = self._lags[report.event_id]
        lags.append(lag)
        if len(lags) == self.fan_out:
            del self._lags[report.event_id]
            self._event_delivered(report.event_id, max(lags))

    def _event_delivered(self, event_id: str, lag_ms: float) -> None:
        self.delivered += 1
        self.last_delivered_at = time.perf_counter()
        self.event_lags_ms.append(lag_ms)
        waiter = self._waiters.pop(event_id, None)
        if waiter is not None and not waiter.done():
            waiter.set_result(lag_ms)
        if self.on_delivered is not None:
            self.on_delivered()
        if self._target is not None and self.delivered >= self._target[0]:
            self._target[1].set()

    def expect(self, event_id: str) -> asyncio.Future[float]:
        """A future of the event's lag, resolved once every consumer handled it."""
        waiter: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        self._waiters[event_id] = waiter
        return waiter

    def reached(self, count: int) -> asyncio.Event:
        """An event set once ``count`` events were handled by every consumer."""
        reached = asyncio.Event()
        self._target = (count, reached)
        if self.delivered >= count:
            reached.set()
        return reached

    def forget_measurements(self) -> None:
        self.delivery_lags_ms.clear()
        self.event_lags_ms.clear()
