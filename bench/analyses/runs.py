"""One analysis through the gateway, timed from the POST being sent to AnalysisCompleted
arriving on the owner's socket; then the two phases: one analysis after another, and
many queued at once."""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
from watcher import AnalysisWatcher

from bench.chat.account import User
from marketscope_servicekit.metrics import percentile

SYMBOLS = ["AAPL", "MSFT", "IBM", "GOOG", "FB"]
WEIGHTS = [0.3, 0.25, 0.2, 0.15, 0.1]
PORTFOLIO: dict[str, Any] = {"kind": "portfolio", "symbols": SYMBOLS, "weights": WEIGHTS}
STAGES = ("gathering", "computing", "searching", "writing")
FINISH_SECONDS = 120.0  # a run that takes longer counts as a failure ("timeout")
Log = Callable[[str], None]
Clear = Callable[[], Awaitable[None]]


@dataclass
class Run:
    analysis_id: str | None
    outcome: str  # completed | failed | cancelled | timeout | refused | unread
    sent: float  # time.perf_counter() as the POST was sent
    accepted_ms: float | None = None  # the POST's 202
    first_progress_ms: float | None = None
    finished_ms: float | None = None  # AnalysisCompleted (or AnalysisFailed) on the socket
    progress_events: int = 0
    timings_ms: dict[str, float] = field(default_factory=dict)
    tool_calls: int | None = None
    tool_errors: int | None = None
    # Per symbol: the risk window's first and last day, its daily observations, and
    # whether the quote was stale (the replay past its data).
    history: dict[str, Any] = field(default_factory=dict)
    problem: str | None = None

    @property
    def completed(self) -> bool:
        return self.outcome == "completed" and self.finished_ms is not None

    @property
    def worker_ms(self) -> float:
        return sum(self.timings_ms.get(stage, 0.0) for stage in STAGES)

    @property
    def overhead_ms(self) -> float | None:
        """Queueing, events and storing: request-to-completed beyond the four stages."""
        return None if self.finished_ms is None else self.finished_ms - self.worker_ms

    @property
    def finished_at(self) -> float | None:
        return None if self.finished_ms is None else self.sent + self.finished_ms / 1000

    def as_json(self) -> dict[str, Any]:
        figures: dict[str, Any] = {
            "analysis_id": self.analysis_id,
            "outcome": self.outcome,
            "accepted_ms": _ms(self.accepted_ms),
            "first_progress_ms": _ms(self.first_progress_ms),
            "request_to_finished_ms": _ms(self.finished_ms),
            "progress_events": self.progress_events,
            "timings_ms": self.timings_ms,
            "tool_calls": self.tool_calls,
            "tool_errors": self.tool_errors,
        }
        if self.completed:
            figures["worker_ms"] = round(self.worker_ms, 1)
            figures["overhead_ms"] = _ms(self.overhead_ms)
        if self.problem:
            figures["problem"] = self.problem
        return figures

    def line(self) -> str:
        if not self.completed:
            return f"{self.outcome}: {self.problem}"
        stages = ", ".join(f"{s} {self.timings_ms.get(s, 0):.0f}" for s in STAGES)
        first = f"{self.first_progress_ms:.0f}" if self.first_progress_ms is not None else "-"
        return (
            f"{self.finished_ms:.0f} ms to AnalysisCompleted (first progress {first} ms; "
            f"{stages} ms; {self.progress_events} progress events)"
        )


def _ms(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def _since(start: float, moment: float | None) -> float | None:
    return None if moment is None else (moment - start) * 1000


async def run_analysis(
    gateway: httpx.AsyncClient, user: User, watcher: AnalysisWatcher, body: dict[str, Any]
) -> Run:
    sent = time.perf_counter()
    try:
        response = await gateway.post("/api/v1/analyses", json=body, headers=user.auth)
    except httpx.HTTPError as exc:
        return Run(None, "refused", sent, problem=f"POST: {exc!r}")
    accepted = (time.perf_counter() - sent) * 1000
    if response.status_code != 202:
        problem = f"POST answered {response.status_code}: {response.text[:300]}"
        return Run(None, "refused", sent, accepted_ms=accepted, problem=problem)
    analysis_id = str(response.json()["analysis_id"])
    run = Run(analysis_id, "timeout", sent, accepted_ms=accepted)
    try:
        timeline = await watcher.finished(analysis_id, FINISH_SECONDS)
    except (TimeoutError, RuntimeError) as exc:
        run.problem = str(exc)
        return run
    run.first_progress_ms = _since(sent, timeline.first_progress)
    run.finished_ms = _since(sent, timeline.finished)
    run.progress_events = timeline.progress_events
    try:
        read = await gateway.get(f"/api/v1/analyses/{analysis_id}", headers=user.auth)
        read.raise_for_status()
    except httpx.HTTPError as exc:
        run.outcome, run.problem = "unread", f"GET after {timeline.outcome}: {exc!r}"
        return run
    detail = read.json()
    run.outcome = str(detail["status"])
    if run.outcome == "completed" and timeline.outcome == "AnalysisCompleted":
        content = detail["report"]["content"]
        run.timings_ms = {stage: float(ms) for stage, ms in content["timings_ms"].items()}
        run.tool_calls = len(content["tool_calls"])
        run.tool_errors = sum(1 for call in content["tool_calls"] if not call["ok"])
        run.history = {
            stock["symbol"]: {key: stock[key] for key in ("start", "end", "observations", "stale")}
            for stock in content["facts"]["stocks"]
        }
    else:
        run.problem = f"{timeline.outcome}: {detail.get('error')}"
    return run


def latency(values: Sequence[float | None]) -> dict[str, Any]:
    ordered = sorted(value for value in values if value is not None)
    if not ordered:
        return {"count": 0}
    return {
        "count": len(ordered),
        "p50_ms": round(percentile(ordered, 0.50), 1),
        "p95_ms": round(percentile(ordered, 0.95), 1),
        "max_ms": round(ordered[-1], 1),
        "mean_ms": round(statistics.fmean(ordered), 1),
    }


def stage_shares(runs: Sequence[Run]) -> dict[str, Any]:
    """Each stage's share of the worker's time (the sum of the four stages), the mean over
    the runs; and what the request-to-completed time has beyond the worker's."""
    done = [run for run in runs if run.completed and run.worker_ms > 0]
    if not done:
        return {}
    shares = {
        stage: round(
            statistics.fmean(run.timings_ms.get(stage, 0.0) / run.worker_ms for run in done), 3
        )
        for stage in STAGES
    }
    return {
        "mean_share_of_worker_time": shares,
        "stage_ms": {
            stage: latency([run.timings_ms.get(stage) for run in done]) for stage in STAGES
        },
        "worker_ms": latency([run.worker_ms for run in done]),
        "overhead_ms": latency([run.overhead_ms for run in done]),
    }


async def run_sequential(
    gateway: httpx.AsyncClient,
    user: User,
    watcher: AnalysisWatcher,
    runs: int,
    warmups: int,
    log: Log,
    clear: Clear,
) -> dict[str, Any]:
    """``runs`` analyses one after another, each queued once the previous one has been
    read; the chat table is emptied after each (see chat_table.py)."""
    for number in range(1, warmups + 1):
        warm = await run_analysis(gateway, user, watcher, PORTFOLIO)
        log(f"sequential warm-up {number}/{warmups}: {warm.line()}")
        await clear()
    measured: list[Run] = []
    for number in range(1, runs + 1):
        run = await run_analysis(gateway, user, watcher, PORTFOLIO)
        measured.append(run)
        log(f"sequential {number}/{runs}: {run.line()}")
        await clear()
    done = [run for run in measured if run.completed]
    return {
        "runs": runs,
        "warmups": warmups,
        "completed": len(done),
        "failures": len(measured) - len(done),
        "request_to_completed": latency([run.finished_ms for run in done]),
        "first_progress": latency([run.first_progress_ms for run in done]),
        "accepted": latency([run.accepted_ms for run in done]),
        "stages": stage_shares(done),
        "tool_calls_per_analysis": sorted({run.tool_calls for run in done if run.tool_calls}),
        "tool_errors": sum(run.tool_errors or 0 for run in done),
        "history_of_first_run": done[0].history if done else {},
        "per_run": [run.as_json() for run in measured],
    }


async def run_concurrent(
    gateway: httpx.AsyncClient,
    owners: Sequence[tuple[User, AnalysisWatcher]],
    analyses: int,
    log: Log,
) -> dict[str, Any]:
    """``analyses`` queued at once, dealt round-robin to the owners; wall time from the
    first POST being sent to the last AnalysisCompleted arriving (reading the reports
    afterwards is not in it)."""

    async def one(number: int) -> Run:
        user, watcher = owners[number % len(owners)]
        run = await run_analysis(gateway, user, watcher, PORTFOLIO)
        log(f"concurrent {number + 1}/{analyses}: {run.line()}")
        return run

    started = time.perf_counter()
    runs = await asyncio.gather(*(one(number) for number in range(analyses)))
    done = [run for run in runs if run.completed]
    ends = [run.finished_at for run in done if run.finished_at is not None]
    wall = (max(ends) if ends else time.perf_counter()) - started
    return {
        "analyses": analyses,
        "accounts": len(owners),
        "completed": len(done),
        "failures": len(runs) - len(done),
        "all_completed": len(done) == analyses,
        "wall_seconds": round(wall, 2),
        "throughput_per_minute": round(len(done) / wall * 60, 1),
        "request_to_completed": latency([run.finished_ms for run in done]),
        "first_progress": latency([run.first_progress_ms for run in done]),
        "accepted": latency([run.accepted_ms for run in done]),
        "stages": stage_shares(done),
        "per_run": [run.as_json() for run in runs],
    }
