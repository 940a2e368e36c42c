"""Phase 3, low load: one event at a time, each awaited on all three consumers."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from params import LOW_LOAD_TIMEOUT_S, Params
from pipeline import Pipeline, running
from quotes import QuoteSource
from report import progress
from stats import Usage, UsageMeter, latency_summary
from wiring import Aws


@dataclass
class LowLoadResult:
    events: int
    lost: int  # not handled by every consumer within LOW_LOAD_TIMEOUT_S
    warmup: int
    deliveries_lag_ms: list[float]
    events_lag_ms: list[float]
    outcomes: dict[str, int]
    usage: Usage

    def as_dict(self) -> dict[str, Any]:
        return {
            "events": self.events,
            "events_not_handled_by_all": self.lost,
            "warmup_events_excluded": self.warmup,
            "delivery_latency": latency_summary(self.deliveries_lag_ms),
            "event_latency_all_consumers": latency_summary(self.events_lag_ms),
            "outcomes": self.outcomes,
            "per_event": self.usage.per(len(self.events_lag_ms)),
            "usage": self.usage.as_dict(),
        }


async def one_event(pipeline: Pipeline, source: QuoteSource) -> float | None:
    """Append one event and wait until every consumer handled it; returns its lag, or None
    if it was not handled by all in time (the emulator lost a message)."""
    event = source.next_event()
    waiter = pipeline.tracker.expect(event.id)
    await pipeline.producer.append(event)
    try:
        return await asyncio.wait_for(waiter, timeout=LOW_LOAD_TIMEOUT_S)
    except TimeoutError:
        return None


async def run_low_load(aws: Aws, meter: UsageMeter, params: Params) -> LowLoadResult:
    total = params.latency_warmup + params.latency_events
    async with running(aws, params, total) as pipeline:
        source = QuoteSource("L", 1)
        for _ in range(params.latency_warmup):
            await one_event(pipeline, source)
        pipeline.tracker.forget_measurements()
        lost = 0
        with meter.measure() as usage:
            for index in range(params.latency_events):
                lost += await one_event(pipeline, source) is None
                if (index + 1) % 10 == 0:
                    progress(f"{index + 1}/{params.latency_events} events")
        return LowLoadResult(
            events=params.latency_events,
            lost=lost,
            warmup=params.latency_warmup,
            deliveries_lag_ms=list(pipeline.tracker.delivery_lags_ms),
            events_lag_ms=list(pipeline.tracker.event_lags_ms),
            outcomes=dict(pipeline.tracker.outcomes),
            usage=usage[0],
        )
