"""An analysis's state, folded from its ``Analysis#<id>`` stream.

The stream holds AnalysisRequested, then per attempt of a worker AnalysisStarted and the
AnalysisProgressed events of that attempt, and at the end one of AnalysisCompleted,
AnalysisFailed or AnalysisCancelled. A worker that died leaves an attempt with no end:
the redelivered request starts the next one.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Literal

from marketscope_events import DecodedEvent
from marketscope_events.catalog.events import (
    AnalysisCancelled,
    AnalysisCompleted,
    AnalysisFailed,
    AnalysisProgressed,
    AnalysisRequested,
    AnalysisStarted,
)

Status = Literal["queued", "running", "completed", "failed", "cancelled"]
FINISHED: frozenset[Status] = frozenset({"completed", "failed", "cancelled"})


def stream_id(analysis_id: str) -> str:
    return f"Analysis#{analysis_id}"


@dataclass(frozen=True, slots=True)
class AnalysisState:
    request: AnalysisRequested
    status: Status = "queued"
    attempts: int = 0
    started_at: datetime | None = None
    progress: AnalysisProgressed | None = None
    completed: AnalysisCompleted | None = None
    failed: AnalysisFailed | None = None
    cancelled_at: datetime | None = None

    @property
    def id(self) -> str:
        return self.request.analysis_id

    @property
    def owner(self) -> str:
        return self.request.owner

    @property
    def finished(self) -> bool:
        return self.status in FINISHED

    @property
    def finished_at(self) -> datetime | None:
        if self.completed is not None:
            return self.completed.completed_at
        if self.failed is not None:
            return self.failed.failed_at
        return self.cancelled_at

    @property
    def updated_at(self) -> datetime:
        moments = [self.request.requested_at, self.started_at, self.finished_at]
        if self.progress is not None:
            moments.append(self.progress.at)
        return max(moment for moment in moments if moment is not None)


def fold(state: AnalysisState | None, event: DecodedEvent[Any]) -> AnalysisState:
    data = event.data
    if isinstance(data, AnalysisRequested):
        return AnalysisState(request=data)
    if state is None:
        raise ValueError(f"{event.envelope.subject}: the stream does not begin with a request")
    if state.finished:
        return state  # nothing follows the end (a late progress of a dead attempt)
    if isinstance(data, AnalysisStarted):
        return replace(
            state,
            status="running",
            attempts=data.attempt,
            started_at=state.started_at or data.started_at,
            progress=None,
        )
    if isinstance(data, AnalysisProgressed):
        return replace(state, progress=data)
    if isinstance(data, AnalysisCompleted):
        return replace(state, status="completed", completed=data)
    if isinstance(data, AnalysisFailed):
        return replace(state, status="failed", failed=data)
    if isinstance(data, AnalysisCancelled):
        return replace(state, status="cancelled", cancelled_at=data.cancelled_at)
    return state
