"""HTTP models of analyses: the request, the list, and one analysis with its report."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from marketscope_chat.analyses.repository import AnalysisSummary, title_of
from marketscope_chat.analyses.service import AnalysisAsk, AnalysisView
from marketscope_chat.analyses.state import Status
from marketscope_chat.analyses.worker import link_of
from marketscope_chat.tools.portfolio import MAX_PORTFOLIO_SYMBOLS
from marketscope_events.catalog.events import AnalysisKind, AnalysisStage, Horizon


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True)


def _upper(value: object) -> object:
    return value.strip().upper() if isinstance(value, str) else value


# What the events allow: a holding is a ticker, a benchmark may be an index (^GSPC).
Holding = Annotated[str, BeforeValidator(_upper), Field(pattern=r"^[A-Z0-9][A-Z0-9.\-^=]{0,14}$")]
BenchmarkSymbol = Annotated[
    str, BeforeValidator(_upper), Field(pattern=r"^\^?[A-Z0-9][A-Z0-9.\-^=]{0,14}$")
]

Weight = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]


class AnalysisCreate(_Model):
    kind: AnalysisKind
    symbols: list[Holding] = Field(
        min_length=1,
        # One more than allowed reaches the service, which says what the limit is.
        max_length=MAX_PORTFOLIO_SYMBOLS + 1,
        description="One symbol for a stock, 2 to 25 for a portfolio",
    )
    weights: list[Weight] | None = Field(
        default=None, description="Portfolio weights in the order of symbols, summing to 1"
    )
    benchmark: BenchmarkSymbol = "^GSPC"
    horizon: Horizon = "1y"
    question: str | None = Field(default=None, max_length=2000)

    def ask(self) -> AnalysisAsk:
        return AnalysisAsk(
            kind=self.kind,
            symbols=self.symbols,
            weights=self.weights,
            benchmark=self.benchmark,
            horizon=self.horizon,
            question=self.question,
        )


class ProgressOut(_Model):
    stage: AnalysisStage
    percent: int
    message: str
    at: datetime


class FailureOut(_Model):
    reason: str
    retryable: bool


class ReportOut(_Model):
    summary: str
    model: str
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float | None
    content: dict[str, Any] = Field(
        description="facts (computed by code), narrative, grounding, citations, usage, timings"
    )
    markdown: str


class AnalysisOut(_Model):
    analysis_id: str
    kind: AnalysisKind
    symbols: list[str]
    title: str
    status: Status
    created_at: datetime
    updated_at: datetime
    link: str = Field(description="The analysis under the gateway's API")


class AnalysisDetail(AnalysisOut):
    weights: list[float] | None
    benchmark: str
    horizon: Horizon
    question: str | None
    attempts: int
    started_at: datetime | None
    finished_at: datetime | None
    progress: ProgressOut | None
    error: FailureOut | None
    report: ReportOut | None

    @classmethod
    def of(cls, view: AnalysisView) -> AnalysisDetail:
        state, request = view.state, view.state.request
        progress = state.progress
        if state.status == "completed":
            progress = None
        report = None
        if view.report is not None and state.completed is not None:
            done = state.completed
            report = ReportOut(
                summary=done.summary,
                model=done.model,
                prompt_tokens=done.prompt_tokens,
                completion_tokens=done.completion_tokens,
                cost_usd=done.cost_usd,
                content=view.report.report,
                markdown=view.report.markdown,
            )
        return cls(
            analysis_id=state.id,
            kind=request.kind,
            symbols=list(request.symbols),
            title=title_of(state),
            status=state.status,
            created_at=request.requested_at,
            updated_at=state.updated_at,
            link=link_of(state.id),
            weights=request.weights,
            benchmark=request.benchmark,
            horizon=request.horizon,
            question=request.question,
            attempts=state.attempts,
            started_at=state.started_at,
            finished_at=state.finished_at,
            progress=None
            if progress is None
            else ProgressOut(
                stage=progress.stage,
                percent=progress.percent,
                message=progress.message,
                at=progress.at,
            ),
            error=None
            if state.failed is None
            else FailureOut(reason=state.failed.reason, retryable=state.failed.retryable),
            report=report,
        )


class AnalysisListItem(AnalysisOut):
    summary: str | None

    @classmethod
    def of(cls, item: AnalysisSummary) -> AnalysisListItem:
        return cls(
            analysis_id=item.id,
            kind=item.kind,  # type: ignore[arg-type]  # written from an AnalysisKind
            symbols=item.symbols,
            title=item.title,
            status=item.status,
            created_at=item.created_at,
            updated_at=item.updated_at,
            link=link_of(item.id),
            summary=item.summary,
        )


class AnalysisList(_Model):
    items: list[AnalysisListItem]
    next_cursor: str | None
