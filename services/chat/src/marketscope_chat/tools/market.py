"""The market-data tools: quotes, history, indicators, risk, profiles, comparisons and
the caller's watchlist, each one or two calls of market-data's HTTP API as the user.

``ToolOutput.data`` is the service's JSON as it came; the model is shown it as compact
JSON, a history trimmed to its latest bars and a summary computed from all of them.
"""

from __future__ import annotations

import asyncio
from typing import Any, ClassVar

from pydantic import Field

from marketscope_chat.readings import RSI_OVERBOUGHT, RSI_OVERSOLD, rsi_state
from marketscope_chat.tools.arguments import (
    Arguments,
    IndicatorName,
    Interval,
    PeriodField,
    Symbol,
    Symbols,
)
from marketscope_chat.tools.base import ArgsT, Tool, ToolContext, ToolOutput
from marketscope_chat.tools.clients import ServiceCaller
from marketscope_chat.tools.trimming import fit_list, render
from marketscope_servicekit.calls import Params, segment


class MarketTool(Tool[ArgsT]):
    default_budget: ClassVar[int] = 1_000  # tokens of the text the model is shown

    def __init__(self, market_data: ServiceCaller, *, budget: int | None = None) -> None:
        self._market = market_data
        self.budget = budget or self.default_budget

    async def _get(self, path: str, context: ToolContext, params: Params | None = None) -> Any:
        return await self._market.get_json(path, context.identity, params, context.traceparent)

    def _output(self, data: Any, summary: str) -> ToolOutput:
        return ToolOutput(data, render(data, self.budget, tool=self.name), summary)


def _percent(value: float | None) -> str:
    return "" if value is None else f" ({value:+.1f} %)"


class SymbolArguments(Arguments):
    symbol: Symbol


class QuoteTool(MarketTool[SymbolArguments]):
    name = "quote"
    description = (
        "Latest quote of one symbol: price, previous close, change, day range, volume, "
        "currency, as_of (the market time of the price) and whether it is stale."
    )
    arguments = SymbolArguments
    default_budget = 600

    async def run(self, args: SymbolArguments, context: ToolContext) -> ToolOutput:
        quote = await self._get(f"/quotes/{segment(args.symbol)}", context)
        summary = (
            f"{quote['symbol']} {quote['price']:.2f} {quote['currency']}"
            f"{_percent(quote.get('change_percent'))} as of {str(quote['as_of'])[:10]}, "
            f"{quote['source']}{', stale' if quote.get('stale') else ''}"
        )
        return self._output(quote, summary)


class HistoryArguments(SymbolArguments):
    interval: Interval = Field(default="1d", description="Bar length: day, week or month")
    period: PeriodField = "1y"


def history_summary(history: dict[str, Any]) -> dict[str, Any]:
    """Figures over every bar, so the model sees the whole period however few bars fit."""
    bars: list[dict[str, Any]] = history["bars"]
    if not bars:
        empty = ("first_close", "last_close", "change_percent", "high", "low", "average_volume")
        return {"start": history.get("start"), "end": history.get("end")} | dict.fromkeys(empty)
    first, last = bars[0]["close"], bars[-1]["close"]
    return {
        "start": bars[0]["date"],
        "end": bars[-1]["date"],
        "first_close": first,
        "last_close": last,
        "change_percent": (last - first) / first * 100 if first else None,
        "high": max(bar["high"] for bar in bars),
        "low": min(bar["low"] for bar in bars),
        "average_volume": sum(bar["volume"] for bar in bars) / len(bars),
    }


class HistoryTool(MarketTool[HistoryArguments]):
    name = "history"
    description = (
        "Daily, weekly or monthly OHLCV bars of one symbol over a period. Shows a summary of "
        "the whole period (first/last close, change in %, high, low, average volume) and "
        "the latest bars; prices are unadjusted closes, adj_close is split-adjusted."
    )
    arguments = HistoryArguments
    default_budget = 1_500

    async def run(self, args: HistoryArguments, context: ToolContext) -> ToolOutput:
        params = {"interval": args.interval, "period": args.period}
        history = await self._get(f"/history/{segment(args.symbol)}", context, params)
        bars: list[dict[str, Any]] = history["bars"]
        summary = history_summary(history)

        def shown(last_bars: list[dict[str, Any]]) -> dict[str, Any]:
            return {
                "symbol": history["symbol"],
                "interval": history["interval"],
                "source": history["source"],
                "stale": history.get("stale", False),
                "bars_total": len(bars),
                "summary": summary,
                "last_bars": last_bars,
            }

        text, _ = fit_list(shown, bars, self.budget, keep="tail")
        line = f"{history['symbol']} {args.interval} history: {len(bars)} bars"
        if bars:
            line += (
                f" {summary['start']}..{summary['end']}, close {summary['first_close']:.2f} -> "
                f"{summary['last_close']:.2f}{_percent(summary['change_percent'])}"
            )
        # What the model is shown is derived from the bars; grounding needs it as well.
        data = {**history, "bars_total": len(bars), "summary": summary}
        return ToolOutput(data, text, f"{line}, {history['source']}")


class IndicatorsArguments(SymbolArguments):
    names: list[IndicatorName] | None = Field(
        default=None,
        min_length=1,
        description="Indicators to compute (SMA 20/50/200, EMA 12/26, RSI 14, MACD, "
        "Bollinger bands, ATR 14, golden/death cross); omit for all of them",
    )


class IndicatorsTool(MarketTool[IndicatorsArguments]):
    name = "indicators"
    description = (
        "Latest technical indicator values of one symbol over two years of daily bars: "
        "moving averages, RSI, MACD, Bollinger bands, ATR and the last SMA 50/200 cross; "
        "`readings` has the RSI's conventional reading (overbought, oversold or neutral) "
        "with its lines."
    )
    arguments = IndicatorsArguments
    default_budget = 800

    async def run(self, args: IndicatorsArguments, context: ToolContext) -> ToolOutput:
        params = {"names": ",".join(args.names)} if args.names else None
        data = await self._get(f"/indicators/{segment(args.symbol)}", context, params)
        rsi = (data.get("indicators") or {}).get("rsi_14")
        if rsi is not None:
            data["readings"] = {
                "rsi_14": {
                    "state": rsi_state(rsi),
                    "overbought_at": RSI_OVERBOUGHT,
                    "oversold_at": RSI_OVERSOLD,
                }
            }
        summary = (
            f"{data['symbol']} indicators ({', '.join(data['names'])}) as of {data['as_of']}, "
            f"close {data['close']:.2f}, {data['source']}"
        )
        return self._output(data, summary)


class RiskArguments(Arguments):
    symbols: Symbols = Field(min_length=1, max_length=20, description="1 to 20 ticker symbols")
    benchmark: Symbol = Field(
        default="^GSPC", description="Index the beta is measured against; NONE for no beta"
    )
    period: PeriodField = "1y"


def _risk_line(risk: dict[str, Any]) -> str:
    against = f" vs {risk['benchmark']}" if risk.get("benchmark") else ""
    return (
        f"risk of {', '.join(risk['symbols'])}{against} over {risk['start']}..{risk['end']} "
        f"({risk['observations']} daily returns)"
    )


class RiskTool(MarketTool[RiskArguments]):
    name = "risk"
    description = (
        "Risk metrics of daily returns for up to 20 symbols: annualised return and "
        "volatility, beta, Sharpe, Sortino, max drawdown, one-day 95 % VaR (fractions, "
        "not percent) and the correlation matrix."
    )
    arguments = RiskArguments
    default_budget = 8_000  # 20 symbols: a 20 x 20 correlation matrix at full precision

    async def run(self, args: RiskArguments, context: ToolContext) -> ToolOutput:
        params = {"symbols": ",".join(args.symbols), "benchmark": args.benchmark}
        risk = await self._get("/risk", context, params | {"period": args.period})
        return self._output(risk, _risk_line(risk))


class ProfileTool(MarketTool[SymbolArguments]):
    name = "profile"
    description = "Company profile of one symbol: name, exchange, currency, sector, industry."
    arguments = SymbolArguments
    default_budget = 1_000

    async def run(self, args: SymbolArguments, context: ToolContext) -> ToolOutput:
        profile = await self._get(f"/profile/{segment(args.symbol)}", context)
        where = ", ".join(part for part in (profile.get("exchange"), profile.get("sector")) if part)
        summary = f"{profile['symbol']}: {profile['name']}" + (f" ({where})" if where else "")
        return self._output(profile, summary)


class CompareArguments(Arguments):
    symbols: Symbols = Field(min_length=2, max_length=10, description="2 to 10 ticker symbols")
    period: PeriodField = "1y"


class CompareTool(MarketTool[CompareArguments]):
    name = "compare"
    description = (
        "Compare 2 to 10 symbols side by side: their latest quotes and their risk metrics "
        "and correlations over a period (against ^GSPC)."
    )
    arguments = CompareArguments
    default_budget = 6_000

    async def run(self, args: CompareArguments, context: ToolContext) -> ToolOutput:
        symbols = ",".join(args.symbols)
        try:
            # One failing call cancels the other: a comparison is both or nothing.
            async with asyncio.TaskGroup() as group:
                quotes = group.create_task(self._get("/quotes", context, {"symbols": symbols}))
                risk = group.create_task(
                    self._get("/risk", context, {"symbols": symbols, "period": args.period})
                )
        except ExceptionGroup as failed:
            raise failed.exceptions[0] from None
        data = {"symbols": list(args.symbols), "quotes": quotes.result(), "risk": risk.result()}
        missing = [error["symbol"] for error in data["quotes"].get("errors", [])]
        line = f"compared {', '.join(args.symbols)}: {_risk_line(data['risk'])}"
        if missing:
            line += f"; no quote for {', '.join(missing)}"
        return self._output(data, line)


class EmptyArguments(Arguments):
    pass


class WatchlistTool(MarketTool[EmptyArguments]):
    name = "watchlist"
    description = "The symbols on the user's own watchlist."
    arguments = EmptyArguments
    default_budget = 800

    async def run(self, args: EmptyArguments, context: ToolContext) -> ToolOutput:
        watchlist = await self._get(f"/watchlists/{segment(context.identity.user_id)}", context)
        symbols = watchlist["symbols"]
        summary = (
            f"watchlist: {', '.join(symbols)} ({len(symbols)} symbols)"
            if symbols
            else "watchlist is empty"
        )
        return self._output(watchlist, summary)


def market_tools(market_data: ServiceCaller) -> list[MarketTool[Any]]:
    kinds: tuple[type[MarketTool[Any]], ...] = (
        QuoteTool,
        HistoryTool,
        IndicatorsTool,
        RiskTool,
        ProfileTool,
        CompareTool,
        WatchlistTool,
    )
    return [kind(market_data) for kind in kinds]
