"""The portfolio tool: market-data's risk of a weighted portfolio (rebalanced daily):
its volatility, VaR, beta, Sharpe, drawdown, the diversification ratio and each
holding's share of the risk."""

from __future__ import annotations

import math
from typing import Any

from pydantic import Field, model_validator

from marketscope_chat.tools.arguments import Arguments, PeriodField, Symbol, Symbols
from marketscope_chat.tools.base import ToolContext, ToolOutput
from marketscope_chat.tools.market import MarketTool

MAX_PORTFOLIO_SYMBOLS = 25
WEIGHT_TOLERANCE = 1e-6


def weights_problem(weights: list[float], symbols: int) -> str | None:
    """What is wrong with ``weights`` for that many symbols, or None when they fit."""
    if len(weights) != symbols:
        return f"{len(weights)} weights for {symbols} symbols: give one each"
    if any(not math.isfinite(w) or w < 0 or w > 1 for w in weights):
        return "every weight is a fraction from 0 to 1"
    if abs(sum(weights) - 1.0) > WEIGHT_TOLERANCE:
        return f"the weights sum to {sum(weights):g}, not 1"
    return None


class PortfolioArguments(Arguments):
    symbols: Symbols = Field(
        min_length=1, max_length=MAX_PORTFOLIO_SYMBOLS, description="1 to 25 ticker symbols"
    )
    weights: list[float] | None = Field(
        default=None,
        description="One weight per symbol, in their order, summing to 1; equal if omitted",
    )
    benchmark: Symbol = Field(default="^GSPC", description="Index the beta is measured against")
    period: PeriodField = "1y"

    @model_validator(mode="after")
    def _weights_fit(self) -> PortfolioArguments:
        problem = None if self.weights is None else weights_problem(self.weights, len(self.symbols))
        if problem is not None:
            raise ValueError(problem)
        return self


def _line(risk: dict[str, Any]) -> str:
    portfolio = risk.get("portfolio") or {}
    volatility = portfolio.get("annualised_volatility")
    shown = "" if volatility is None else f", volatility {volatility * 100:.1f} %"
    return (
        f"portfolio risk of {', '.join(risk['symbols'])} over {risk['start']}..{risk['end']}"
        f"{shown}, largest risk contributor {risk.get('largest_risk_contributor')}"
    )


class PortfolioRiskTool(MarketTool[PortfolioArguments]):
    name = "portfolio_risk"
    description = (
        "Risk of a weighted portfolio of up to 25 symbols, rebalanced daily: its annualised "
        "return and volatility, beta, Sharpe, Sortino, max drawdown and one-day 95 % VaR "
        "(fractions, not percent), the diversification ratio, each holding's share of the "
        "portfolio's variance and the correlation matrix."
    )
    arguments = PortfolioArguments
    default_budget = 9_000  # 25 symbols: the correlation matrix dominates

    async def run(self, args: PortfolioArguments, context: ToolContext) -> ToolOutput:
        params: dict[str, str] = {
            "symbols": ",".join(args.symbols),
            "benchmark": args.benchmark,
            "period": args.period,
        }
        if args.weights is not None:
            params["weights"] = ",".join(repr(weight) for weight in args.weights)
        risk = await self._get("/risk/portfolio", context, params)
        return self._output(risk, _line(risk))
