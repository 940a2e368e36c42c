"""Phase 2, the pipeline's throughput, with a bounded number of events in flight."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from params import SERVICES, Params
from pipeline import running
from producer import Producer
from quotes import QuoteSource
from report import progress
from stats import Usage, UsageMeter, latency_summary
from tracker import DeliveryTracker
from wiring import Aws, cancel_all

PROGRESS_EVERY_S = 5.0
STALL_S = 10.0  # no event fully delivered for this long: one was lost, stop waiting


@dataclass
class ThroughputResult:
    status: str
    events: int
    appended: int
    delivered: int
    append_seconds: float
    seconds: float
    deliveries_lag_ms: list[float]
    events_lag_ms: list[float]
    outcomes: dict[str, int]
    usage: Usage

    @property
    def appended_per_s(self) -> float:
        return self.appended / self.append_seconds

    @property
    def events_per_s(self) -> float:
        return self.delivered / self.seconds

    @property
    def deliveries_per_s(self) -> float:
        return self.events_per_s * len(SERVICES)

    def as_dict(self) -> dict[str, Any]:
        return {
            "events": self.events,
            "events_appended": self.appended,
            "events_handled_by_all": self.delivered,
            "status": self.status,
            "seconds": self.seconds,
            "append_seconds": self.append_seconds,
            "events_appended_per_s": self.appended_per_s,
            "events_handled_by_all_per_s": self.events_per_s,
            "deliveries_per_s": self.deliveries_per_s,
            "delivery_latency": latency_summary(self.deliveries_lag_ms),
            "event_latency_all_consumers": latency_summary(self.events_lag_ms),
            "outcomes": self.outcomes,
            "per_delivery": self.usage.per(self.delivered * len(SERVICES)),
            "usage": self.usage.as_dict(),
        }


async def produce(
    producer: Producer, source: QuoteSource, window: asyncio.Semaphore, count: int
) -> float:
    """Append ``count`` events, each once the window has room; returns when it finished."""
    for _ in range(count):
        await window.acquire()
        await producer.append(source.next_event())
    return time.perf_counter()


async def report_progress(tracker: DeliveryTracker, total: int, start: float) -> None:
    while True:
        await asyncio.sleep(PROGRESS_EVERY_S)
        elapsed = time.perf_counter() - start
        progress(
            f"{tracker.delivered}/{total} events handled by all consumers "
            f"({tracker.delivered / elapsed:.0f} events/s so far)"
        )


async def supervise(
    tracker: DeliveryTracker,
    done: asyncio.Event,
    producers: Sequence[asyncio.Task[float]],
    limit_s: float,
) -> str:
    """Wait for every event to be delivered; stop early if deliveries stall (moto's SQS is
    not thread-safe and can lose a message) or time runs out; raise an appender's error."""
    start = seen_at = time.perf_counter()
    seen = tracker.delivered
    while not done.is_set():
        for task in producers:
            if task.done() and not task.cancelled() and task.exception() is not None:
                task.result()
        now = time.perf_counter()
        if tracker.delivered != seen:
            seen, seen_at = tracker.delivered, now
        if now - seen_at > STALL_S:
            return f"stalled: no event delivered for {STALL_S:.0f} s"
        if now - start > limit_s:
            return f"timed out after {limit_s:.0f} s"
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(done.wait(), timeout=0.5)
    return "complete"


def split(total: int, parts: int) -> list[int]:
    return [total // parts + (1 if index < total % parts else 0) for index in range(parts)]


async def run_throughput(aws: Aws, meter: UsageMeter, params: Params) -> ThroughputResult:
    async with running(aws, params, params.events) as pipeline:
        tracker = pipeline.tracker
        window = asyncio.Semaphore(params.window)
        tracker.on_delivered = window.release
        done = tracker.reached(params.events)
        with meter.measure() as usage:
            start = time.perf_counter()
            producers = [
                asyncio.create_task(
                    produce(pipeline.producer, QuoteSource(f"P{index}", 4), window, share)
                )
                for index, share in enumerate(split(params.events, params.producers))
            ]
            ticker = asyncio.create_task(report_progress(tracker, params.events, start))
            try:
                status = await supervise(tracker, done, producers, params.phase_timeout_s)
            finally:
                await cancel_all([ticker, *producers])
            if status != "complete":
                progress(status)
        end = tracker.last_delivered_at if tracker.delivered else time.perf_counter()
        appended_at = [task.result() for task in producers if not task.cancelled()]
        return ThroughputResult(
            status=status,
            events=params.events,
            appended=pipeline.producer.appended,
            delivered=tracker.delivered,
            append_seconds=max(appended_at, default=end) - start,
            seconds=end - start,
            deliveries_lag_ms=list(tracker.delivery_lags_ms),
            events_lag_ms=list(tracker.event_lags_ms),
            outcomes=dict(tracker.outcomes),
            usage=usage[0],
        )
