"""Asking for analyses, reading them and cancelling them (no HTTP, no boto).

A request is checked before anything is stored: the symbols and the benchmark must be
ones market-data knows (asked as the user), the weights must fit, and the owner's day
must not be spent. Then AnalysisRequested is appended through the outbox: the chat
service's own queue hands it to a worker, and the caller gets the queued analysis.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from marketscope_chat.analyses.reports import ReportStore, StoredReport
from marketscope_chat.analyses.repository import AnalysisPage, AnalysisRepository
from marketscope_chat.analyses.state import AnalysisState
from marketscope_chat.errors import (
    AnalysisConflict,
    AnalysisNotFound,
    InvalidAnalysis,
    StorageUnavailable,
)
from marketscope_chat.spending import Spending
from marketscope_chat.tools.clients import ServiceCaller, ServiceRefused, ServiceUnavailable
from marketscope_chat.tools.portfolio import MAX_PORTFOLIO_SYMBOLS, weights_problem
from marketscope_events import CATALOG
from marketscope_events.catalog.events import (
    AnalysisCancelled,
    AnalysisKind,
    AnalysisRequested,
    Horizon,
)
from marketscope_events.streams.repository import Loaded
from marketscope_servicekit import DependencyUnavailable, Identity

Clock = Callable[[], datetime]


@dataclass(frozen=True, slots=True)
class AnalysisAsk:
    """What the caller asked for, as the HTTP layer parsed it."""

    kind: AnalysisKind
    symbols: Sequence[str]
    weights: Sequence[float] | None
    benchmark: str
    horizon: Horizon
    question: str | None


@dataclass(frozen=True, slots=True)
class AnalysisView:
    state: AnalysisState
    report: StoredReport | None


def _check_shape(ask: AnalysisAsk) -> list[str]:
    symbols = [symbol.strip().upper() for symbol in ask.symbols]
    repeated = sorted({symbol for symbol in symbols if symbols.count(symbol) > 1})
    if repeated:
        raise InvalidAnalysis(f"Symbols repeat: {', '.join(repeated)}.")
    if len(symbols) > MAX_PORTFOLIO_SYMBOLS:
        raise InvalidAnalysis(f"An analysis covers at most {MAX_PORTFOLIO_SYMBOLS} symbols.")
    if ask.kind == "stock" and len(symbols) != 1:
        raise InvalidAnalysis("A stock analysis covers one symbol; ask for a portfolio for more.")
    if ask.kind == "stock" and ask.weights is not None:
        raise InvalidAnalysis("Weights belong to a portfolio analysis.")
    if ask.kind == "portfolio" and len(symbols) < 2:
        raise InvalidAnalysis("A portfolio analysis covers 2 to 25 symbols.")
    if ask.weights is not None:
        problem = weights_problem(list(ask.weights), len(symbols))
        if problem is not None:
            total = sum(ask.weights)
            raise InvalidAnalysis(
                problem[0].upper() + problem[1:] + ".",
                extensions={"weights_sum": total} if math.isfinite(total) else None,
            )
    return symbols


class AnalysisService:
    def __init__(
        self,
        analyses: AnalysisRepository,
        reports: ReportStore,
        market_data: ServiceCaller,
        spending: Spending,
        *,
        retention: timedelta,
        clock: Clock = lambda: datetime.now(UTC),
    ) -> None:
        self._analyses = analyses
        self._reports = reports
        self._market = market_data
        self._spending = spending
        self._retention = retention
        self._clock = clock

    async def request(self, identity: Identity, ask: AnalysisAsk) -> AnalysisState:
        symbols = _check_shape(ask)
        benchmark = ask.benchmark.strip().upper()
        await self._check_known(identity, [*symbols, benchmark])
        await self._spending.check(identity.user_id)
        analysis_id = f"ana_{uuid.uuid4().hex}"
        now = self._clock()
        requested = AnalysisRequested(
            analysis_id=analysis_id,
            owner=identity.user_id,
            kind=ask.kind,
            symbols=symbols,
            weights=None if ask.weights is None else list(ask.weights),
            benchmark=benchmark,
            horizon=ask.horizon,
            question=ask.question,
            requested_at=now,
        )
        event = CATALOG.new_event(requested, subject=analysis_id)
        stored = await self._analyses.append(
            None, analysis_id, [event], expires_at=now + self._retention
        )
        return stored.state

    async def _check_known(self, identity: Identity, symbols: list[str]) -> None:
        """Every symbol has a quote at market-data, or the request is refused naming the
        ones that do not (422); market-data not answering is a 503."""
        try:
            found = await self._market.get_json(
                "/quotes", identity, {"symbols": ",".join(dict.fromkeys(symbols))}
            )
        except ServiceRefused as exc:
            raise InvalidAnalysis(f"market-data refused the symbols: {exc}") from exc
        except ServiceUnavailable as exc:
            raise DependencyUnavailable(str(exc), dependency="market-data") from exc
        errors = found.get("errors") or []
        unknown = [error for error in errors if error.get("status") == 404]
        if unknown:
            detail = "Unknown symbols: " + ", ".join(str(e["symbol"]) for e in unknown) + "."
            extensions: dict[str, object] = {"unknown": [error["symbol"] for error in unknown]}
            # market-data's symbols are a closed list (the offline replay): name them.
            known = next((e["known_symbols"] for e in unknown if e.get("known_symbols")), None)
            if known:
                detail += f" The market data here covers only {', '.join(map(str, known))}."
                extensions["known_symbols"] = list(known)
            raise InvalidAnalysis(detail, extensions=extensions)
        if errors:
            detail = "; ".join(f"{error['symbol']}: {error['detail']}" for error in errors)
            raise DependencyUnavailable(
                f"market-data could not check {detail}", dependency="market-data"
            )

    async def _owned(self, owner: str, analysis_id: str) -> Loaded[AnalysisState]:
        loaded = await self._analyses.load(analysis_id)
        if loaded is None or loaded.state.owner != owner:
            raise AnalysisNotFound(analysis_id)
        return loaded

    async def get(self, owner: str, analysis_id: str) -> AnalysisView:
        loaded = await self._owned(owner, analysis_id)
        report = None
        if loaded.state.status == "completed":
            report = await self._reports.get(analysis_id)
            if report is None:
                raise StorageUnavailable(
                    f"The report of {analysis_id} is not readable now.", dependency="dynamodb"
                )
        return AnalysisView(loaded.state, report)

    async def list(self, owner: str, *, limit: int, cursor: str | None) -> AnalysisPage:
        return await self._analyses.list_owned(owner, limit=limit, cursor=cursor)

    async def cancel(self, owner: str, analysis_id: str) -> AnalysisState:
        """Cancel a queued or running analysis; a finished one is a 409."""
        for _ in range(3):
            loaded = await self._owned(owner, analysis_id)
            state = loaded.state
            if state.finished:
                raise AnalysisConflict(
                    analysis_id, f"Analysis {analysis_id} is {state.status}: nothing to cancel."
                )
            event = CATALOG.new_event(
                AnalysisCancelled(analysis_id=analysis_id, cancelled_at=self._clock()),
                subject=analysis_id,
            )
            try:
                cancelled = await self._analyses.append(
                    loaded,
                    analysis_id,
                    [event],
                    expires_at=state.request.requested_at + self._retention,
                )
            except AnalysisConflict:
                continue  # its worker moved it on meanwhile: decide again
            return cancelled.state
        raise AnalysisConflict(analysis_id)
