"""The analysis worker: what the chat service's consumer runs for each AnalysisRequested.

A job is: AnalysisStarted (its attempt), the data gathered concurrently, the facts
computed, the documents searched, the narrative written and grounded, the report stored,
AnalysisCompleted. Progress is appended (and published) at each stage. The stream keeps
it idempotent: a request whose analysis is finished is done, whatever delivered it again;
one whose worker died mid-job (an attempt with no end) runs as the next attempt.

Failures say what they are. The owner's budget having no room, a symbol market-data
refuses, a model that refuses the request: AnalysisFailed(retryable=false). A service or
model that is down or slow: raised, so the consumer retries the message with backoff;
on the last attempt AnalysisFailed(retryable=true). A request the chat table does not
know is a bad event: the consumer sends it to the DLQ with the reason.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from marketscope_chat.analyses.facts import build_facts
from marketscope_chat.analyses.gathering import DataGatherer, Gathered
from marketscope_chat.analyses.markdown import render_markdown, summary_of
from marketscope_chat.analyses.narrative import Narrative, NarrativeWriter
from marketscope_chat.analyses.reports import ReportStore
from marketscope_chat.analyses.repository import AnalysisRepository, title_of
from marketscope_chat.analyses.state import AnalysisState
from marketscope_chat.errors import AnalysisConflict, BudgetExceeded
from marketscope_chat.llm.base import ModelError
from marketscope_chat.llm.selection import ModelSource
from marketscope_chat.tools.base import ToolContext
from marketscope_events import CATALOG, DecodedEvent, EventData, TerminalHandlerError
from marketscope_events.catalog.events import (
    AnalysisCompleted,
    AnalysisFailed,
    AnalysisProgressed,
    AnalysisRequested,
    AnalysisStage,
    AnalysisStarted,
)
from marketscope_events.streams.repository import Loaded
from marketscope_servicekit import Identity, MetricsRecorder

logger = logging.getLogger(__name__)
Clock = Callable[[], datetime]
LINK = "/api/v1/analyses/{analysis_id}"


def link_of(analysis_id: str) -> str:
    """Where the analysis is, under the gateway's API (relative to its origin)."""
    return LINK.format(analysis_id=analysis_id)


@dataclass(frozen=True, slots=True)
class WorkerSettings:
    worker: str
    retention: timedelta
    max_attempts: int = 3
    # Progress within one stage is appended at most this often (seconds).
    progress_interval: float = 0.25


class JobFailed(Exception):
    def __init__(self, reason: str, *, retryable: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retryable = retryable


class JobCancelled(Exception):
    """The owner cancelled the analysis while it ran."""


def _check_market_data(gathered: Gathered) -> None:
    failed = [result for result in gathered.market_results if result.error is not None]
    if not failed:
        return
    reasons = "; ".join(f"{r.call.name} {r.call.id.split('-')[0]}: {r.error}" for r in failed)
    raise JobFailed(f"market data missing: {reasons}", retryable=any(r.transient for r in failed))


class AnalysisWorker:
    def __init__(
        self,
        analyses: AnalysisRepository,
        reports: ReportStore,
        gatherer: DataGatherer,
        writer: NarrativeWriter,
        models: ModelSource,
        metrics: MetricsRecorder,
        settings: WorkerSettings,
        *,
        clock: Clock = lambda: datetime.now(UTC),
    ) -> None:
        self.analyses = analyses
        self.reports = reports
        self.gatherer = gatherer
        self.writer = writer
        self.models = models
        self._metrics = metrics
        self.settings = settings
        self.clock = clock

    async def handle(self, event: DecodedEvent[Any]) -> None:
        request: AnalysisRequested = event.data
        loaded = await self.analyses.load(request.analysis_id)
        if loaded is None:
            raise TerminalHandlerError(
                f"analysis {request.analysis_id} is not in the chat table (never stored, "
                "or expired)"
            )
        if loaded.state.request != request:
            raise TerminalHandlerError(
                f"the request does not match analysis {request.analysis_id} as stored"
            )
        if loaded.state.finished:
            logger.info("analysis %s is %s already", request.analysis_id, loaded.state.status)
            return
        attempt = loaded.state.attempts + 1
        if attempt > self.settings.max_attempts:
            await self._finish_failed(loaded, "it failed on every attempt", retryable=True)
            return
        loaded = await self.append(
            loaded,
            AnalysisStarted(
                analysis_id=request.analysis_id,
                attempt=attempt,
                worker=self.settings.worker,
                started_at=self.clock(),
            ),
        )
        await self._run(loaded, attempt)

    async def _run(self, loaded: Loaded[AnalysisState], attempt: int) -> None:
        job = _Job(self, loaded)
        started = time.perf_counter()
        outcome = "completed"
        try:
            await job.run()
        except JobCancelled:
            outcome = "cancelled"
            logger.info("analysis %s was cancelled while it ran", job.analysis_id)
        except BudgetExceeded as exc:
            outcome = "failed"
            await self._finish_failed(job.loaded, f"budget: {exc.detail}", retryable=False)
        except (JobFailed, ModelError) as exc:
            retryable = exc.retryable if isinstance(exc, JobFailed) else True
            if retryable and attempt < self.settings.max_attempts:
                outcome = "retried"
                raise  # the consumer brings the message back after a backoff
            outcome = "failed"
            await self._finish_failed(job.loaded, str(exc), retryable=retryable)
        finally:
            kind = job.loaded.state.request.kind
            self._metrics.record(
                "AnalysisDuration",
                (time.perf_counter() - started) * 1000,
                unit="Milliseconds",
                dimensions={"Kind": kind, "Outcome": outcome},
            )

    async def append(self, loaded: Loaded[AnalysisState], data: EventData) -> Loaded[AnalysisState]:
        state = loaded.state
        event = CATALOG.new_event(data, subject=state.id)
        return await self.analyses.append(loaded, state.id, [event], expires_at=self.expiry(state))

    def expiry(self, state: AnalysisState) -> datetime:
        return state.request.requested_at + self.settings.retention

    async def _finish_failed(
        self, loaded: Loaded[AnalysisState], reason: str, *, retryable: bool
    ) -> None:
        state = loaded.state
        failed = AnalysisFailed(
            analysis_id=state.id,
            owner=state.owner,
            reason=reason[:2000],
            retryable=retryable,
            failed_at=self.clock(),
            link=link_of(state.id),
        )
        try:
            await self.append(loaded, failed)
        except AnalysisConflict:
            fresh = await self.analyses.load(state.id)
            if fresh is None or fresh.state.finished:
                return  # cancelled (or finished) meanwhile: that stands
            await self.append(fresh, failed)
        logger.warning("analysis %s failed (retryable=%s): %s", state.id, retryable, reason)


class _Job:
    """One attempt at one analysis; ``loaded`` follows the stream as it appends."""

    def __init__(self, worker: AnalysisWorker, loaded: Loaded[AnalysisState]) -> None:
        self._worker = worker
        self.loaded = loaded
        self.analysis_id = loaded.state.id
        self._last_stage: AnalysisStage | None = None
        self._last_progress = 0.0
        self._held_back: AnalysisProgressed | None = None
        self._stage_started = time.perf_counter()
        self.timings_ms: dict[str, float] = {}

    async def progress(self, stage: AnalysisStage, percent: int, message: str) -> None:
        """Append progress, at most one event per interval within a stage. An update held
        back is not lost: the last one of a stage is appended before the next stage's."""
        now = time.perf_counter()
        state = self.loaded.state
        event = AnalysisProgressed(
            analysis_id=state.id,
            owner=state.owner,
            stage=stage,
            percent=percent,
            message=message,
            at=self._worker.clock(),
        )
        if stage != self._last_stage:
            if self._last_stage is not None:
                self.timings_ms[self._last_stage] = (now - self._stage_started) * 1000
            self._stage_started = now
            await self._flush_held_back()
        elif now - self._last_progress < self._worker.settings.progress_interval:
            self._held_back = event
            return
        self._last_stage, self._last_progress, self._held_back = stage, now, None
        await self._append(event)

    async def _flush_held_back(self) -> None:
        held_back, self._held_back = self._held_back, None
        if held_back is not None:
            await self._append(held_back)

    async def _append(self, data: EventData) -> None:
        try:
            self.loaded = await self._worker.append(self.loaded, data)
        except AnalysisConflict:
            fresh = await self._worker.analyses.load(self.analysis_id, known=self.loaded)
            if fresh is None or fresh.state.status != "running":
                raise JobCancelled(self.analysis_id) from None
            self.loaded = await self._worker.append(fresh, data)

    async def run(self) -> None:
        worker, state = self._worker, self.loaded.state
        request = state.request
        identity = Identity(user_id=state.owner)
        gathered = await worker.gatherer.gather(request, ToolContext(identity), self.progress)
        _check_market_data(gathered)
        facts = build_facts(request, gathered)
        await self.progress("writing", 80, "Writing the narrative")
        model = await worker.models.get()
        facts_json = facts.model_dump(mode="json")
        try:
            narrative = await worker.writer.write(model, state.owner, facts_json)
        except ModelError as exc:
            raise JobFailed(f"the model failed: {exc}", retryable=True) from exc
        self.timings_ms["writing"] = (time.perf_counter() - self._stage_started) * 1000
        title = title_of(state)
        stocks = facts.stocks
        period = f"{min(s.start for s in stocks)} to {max(s.end for s in stocks)}"
        markdown = render_markdown(title, facts, narrative.text, narrative.grounding, period)
        report = self._report(title, facts_json, narrative, gathered)
        await worker.reports.put(state.id, report, markdown, expires_at=worker.expiry(state))
        await self._append(
            AnalysisCompleted(
                analysis_id=state.id,
                owner=state.owner,
                symbols=list(request.symbols),
                summary=summary_of(facts),
                model=narrative.model,
                tool_calls=len(gathered.results),
                prompt_tokens=narrative.usage.prompt_tokens,
                completion_tokens=narrative.usage.completion_tokens,
                completed_at=worker.clock(),
                kind=request.kind,
                title=title,
                link=link_of(state.id),
                cost_usd=narrative.cost_usd,
                ungrounded_numbers=narrative.grounding.ungrounded,
            )
        )

    def _report(
        self, title: str, facts: dict[str, Any], narrative: Narrative, gathered: Gathered
    ) -> dict[str, Any]:
        citations = [
            {**passage, "symbol": stock["symbol"]}
            for stock in facts["stocks"]
            for passage in stock["passages"]
        ]
        return {
            "analysis_id": self.analysis_id,
            "title": title,
            "generated_at": self._worker.clock().isoformat(),
            "facts": facts,
            "narrative": {
                "text": narrative.text,
                "provider": narrative.provider,
                "model": narrative.model,
                "offline": narrative.provider == "offline",
            },
            "grounding": {
                "grounded": narrative.grounding.grounded,
                "ungrounded": narrative.grounding.ungrounded,
                "numbers": [
                    {"text": n.text, "value": n.value, "status": n.status}
                    for n in narrative.grounding.numbers
                ],
            },
            "citations": citations,
            "usage": {
                "prompt_tokens": narrative.usage.prompt_tokens,
                "completion_tokens": narrative.usage.completion_tokens,
                "estimated": narrative.usage.estimated,
                "cost_usd": narrative.cost_usd,
            },
            "tool_calls": [
                {
                    "id": result.call.id,
                    "name": result.call.name,
                    "arguments": result.arguments,
                    "ok": result.ok,
                    "error": result.error,
                    "duration_ms": round(result.duration_ms, 1),
                }
                for result in gathered.results
            ],
            "timings_ms": {stage: round(ms, 1) for stage, ms in self.timings_ms.items()},
        }
