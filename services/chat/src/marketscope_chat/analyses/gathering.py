"""Gathering an analysis's data: every call for every symbol at once, through the same
tools (and so the same identity, retries and time limits) the analyst's chat uses.

Per symbol: its quote, its indicators, its risk against the benchmark over the horizon
and a search of the owner's documents; for a portfolio also the portfolio's risk. All
of them start together; `gather` reports progress as each symbol's market data is in,
then waits for the portfolio's risk ("computing") and the documents ("searching").
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from marketscope_chat.llm.base import ToolCall
from marketscope_chat.tools.base import ToolContext
from marketscope_chat.tools.toolbox import Toolbox, ToolResult
from marketscope_events.catalog.events import AnalysisRequested, AnalysisStage

Progress = Callable[[AnalysisStage, int, str], Awaitable[None]]
PASSAGES_PER_SYMBOL = 3
MARKET_CALLS = ("quote", "indicators", "risk", "profile")


@dataclass(frozen=True, slots=True)
class SymbolData:
    symbol: str
    quote: ToolResult
    indicators: ToolResult
    risk: ToolResult
    profile: ToolResult
    documents: ToolResult


@dataclass(frozen=True, slots=True)
class Gathered:
    symbols: tuple[SymbolData, ...]
    portfolio: ToolResult | None

    @property
    def results(self) -> list[ToolResult]:
        """Every call made, in a fixed order (symbols as asked, then the portfolio)."""
        calls = [
            result
            for data in self.symbols
            for result in (data.quote, data.indicators, data.risk, data.profile, data.documents)
        ]
        return calls if self.portfolio is None else [*calls, self.portfolio]

    @property
    def market_results(self) -> list[ToolResult]:
        """The calls the facts cannot do without (a profile and the documents are a
        supplement)."""
        return [r for r in self.results if r.call.name not in ("search_documents", "profile")]


class DataGatherer:
    def __init__(self, toolbox: Toolbox, *, passages_per_symbol: int = PASSAGES_PER_SYMBOL) -> None:
        self._toolbox = toolbox
        self._passages = passages_per_symbol

    def _call(
        self, call_id: str, name: str, arguments: dict[str, Any], context: ToolContext
    ) -> asyncio.Task[ToolResult]:
        call = ToolCall(call_id, name, json.dumps(arguments))
        return asyncio.create_task(self._toolbox.run(call, context))

    async def gather(
        self, request: AnalysisRequested, context: ToolContext, progress: Progress
    ) -> Gathered:
        period, benchmark = request.horizon, request.benchmark
        tasks: dict[str, dict[str, asyncio.Task[ToolResult]]] = {}
        try:
            for n, symbol in enumerate(request.symbols):
                searching = ToolContext(
                    context.identity,
                    context.traceparent,
                    citation_start=1 + n * self._passages,
                )
                tasks[symbol] = {
                    "quote": self._call(f"{symbol}-quote", "quote", {"symbol": symbol}, context),
                    "indicators": self._call(
                        f"{symbol}-indicators", "indicators", {"symbol": symbol}, context
                    ),
                    "risk": self._call(
                        f"{symbol}-risk",
                        "risk",
                        {"symbols": [symbol], "benchmark": benchmark, "period": period},
                        context,
                    ),
                    "profile": self._call(
                        f"{symbol}-profile", "profile", {"symbol": symbol}, context
                    ),
                    "documents": self._call(
                        f"{symbol}-documents",
                        "search_documents",
                        {"query": f"{symbol} stock", "limit": self._passages},
                        searching,
                    ),
                }
            portfolio = None
            if request.kind == "portfolio":
                arguments: dict[str, Any] = {
                    "symbols": list(request.symbols),
                    "benchmark": benchmark,
                    "period": period,
                }
                if request.weights is not None:
                    arguments["weights"] = list(request.weights)
                portfolio = self._call("portfolio-risk", "portfolio_risk", arguments, context)
            await self._market_data_in(request, tasks, progress)
            if portfolio is not None:
                await progress("computing", 60, "Computing portfolio risk")
                await portfolio
            await progress("searching", 70, "Searching documents")
            symbols: list[SymbolData] = []
            for symbol, calls in tasks.items():
                symbols.append(
                    SymbolData(
                        symbol,
                        quote=await calls["quote"],
                        indicators=await calls["indicators"],
                        risk=await calls["risk"],
                        profile=await calls["profile"],
                        documents=await calls["documents"],
                    )
                )
            return Gathered(tuple(symbols), None if portfolio is None else portfolio.result())
        finally:
            # A cancelled job (or a failed progress write) stops every call still running.
            for calls in tasks.values():
                for task in calls.values():
                    task.cancel()

    async def _market_data_in(
        self,
        request: AnalysisRequested,
        tasks: dict[str, dict[str, asyncio.Task[ToolResult]]],
        progress: Progress,
    ) -> None:
        total = len(request.symbols)
        await progress("gathering", 5, f"Gathering data for {total} symbols")

        async def bundle(symbol: str) -> str:
            await asyncio.gather(*(tasks[symbol][name] for name in MARKET_CALLS))
            return symbol

        bundles = asyncio.as_completed([bundle(symbol) for symbol in tasks])
        for done, finished in enumerate(bundles, start=1):
            await finished
            await progress(
                "gathering",
                5 + 45 * done // total,
                f"Gathering data: {done}/{total} symbols",
            )
