"""The facts section of a report, computed by code from what market-data and rag
answered: nothing in it is written by a model.

Per symbol: price and change, return, volatility, beta, Sharpe, Sortino, max drawdown and
VaR over the horizon, RSI, the MACD signal, the SMA 50/200 state, and the passages of the
owner's documents that mention it (numbered ``[n]`` across the report). For a portfolio
also its weights, volatility, VaR, correlation matrix, diversification ratio and each
holding's share of its risk.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from marketscope_chat.analyses.gathering import Gathered, SymbolData
from marketscope_chat.readings import RsiState, rsi_state
from marketscope_events.catalog.events import AnalysisRequested

EXCERPT_CHARACTERS = 400


class _Fact(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Passage(_Fact):
    n: int
    document_id: str
    filename: str
    chunk_id: str
    section: str
    excerpt: str
    score: float


class Macd(_Fact):
    macd: float
    signal: float
    histogram: float
    state: Literal["bullish", "bearish"]


class SmaState(_Fact):
    sma_50: float | None
    sma_200: float | None
    price_vs_sma_50: Literal["above", "below"] | None
    price_vs_sma_200: Literal["above", "below"] | None
    trend: Literal["golden cross", "death cross"] | None
    cross_on: date | None


class RiskFacts(_Fact):
    """Risk over the horizon's daily returns (fractions, annualised where it says so)."""

    start: date
    end: date
    observations: int
    annualised_return: float
    volatility: float
    beta: float | None
    sharpe: float | None
    sortino: float | None
    max_drawdown: float
    var_95: float


def _risk(metric: dict[str, Any], risk: dict[str, Any]) -> dict[str, Any]:
    """The `RiskFacts` fields of market-data's metrics of one series."""
    return {
        "start": risk["start"],
        "end": risk["end"],
        "observations": risk["observations"],
        "annualised_return": metric["annualised_return"],
        "volatility": metric["annualised_volatility"],
        "beta": metric.get("beta"),
        "sharpe": metric.get("sharpe"),
        "sortino": metric.get("sortino"),
        "max_drawdown": metric["max_drawdown"],
        "var_95": metric["var_95"],
    }


class SymbolFacts(RiskFacts):
    symbol: str
    name: str | None
    price: float
    currency: str
    change: float | None
    change_percent: float | None
    as_of: str
    source: str
    stale: bool
    rsi_14: float | None
    rsi_state: RsiState | None
    macd: Macd | None
    sma: SmaState
    passages: list[Passage]
    documents_error: str | None


class RiskContribution(_Fact):
    symbol: str
    weight: float
    volatility: float
    contribution: float


class PortfolioFacts(RiskFacts):
    weights: dict[str, float]
    diversification_ratio: float
    risk_contributions: list[RiskContribution]
    largest_risk_contributor: str
    correlation: dict[str, dict[str, float]]


class Facts(_Fact):
    kind: Literal["stock", "portfolio"]
    symbols: list[str]
    benchmark: str
    horizon: str
    risk_free_rate: float
    question: str | None
    stocks: list[SymbolFacts]
    portfolio: PortfolioFacts | None


def _excerpt(text: str) -> str:
    flat = " ".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
    flat = re.sub(r"\s+", " ", flat).strip()
    if len(flat) <= EXCERPT_CHARACTERS:
        return flat
    cut = flat.rfind(" ", 0, EXCERPT_CHARACTERS)
    return flat[: cut if cut > 0 else EXCERPT_CHARACTERS] + " …"


def company_name(data: SymbolData) -> str | None:
    if data.profile.output is None:
        return None
    name = data.profile.output.data.get("name")
    return str(name) if name else None


def _mentions(data: SymbolData) -> re.Pattern[str]:
    """The ticker as a word, or the first word of the company's name (Apple, Microsoft)."""
    names = [re.escape(data.symbol)]
    name = company_name(data)
    first = name.split()[0].strip(",.") if name else ""
    if len(first) >= 4:
        names.append(re.escape(first))
    return re.compile(rf"(?<![\w^$])(?:{'|'.join(names)})(?!\w)", re.IGNORECASE)


def _passages(data: SymbolData, first: int) -> tuple[list[Passage], str | None]:
    if data.documents.output is None:
        return [], data.documents.error or "no answer"
    mentions = _mentions(data)
    results = [
        item
        for item in data.documents.output.data.get("results") or []
        if mentions.search(str(item.get("text", "")))
    ]
    return [
        Passage(
            n=first + i,
            document_id=item["document_id"],
            filename=item["filename"],
            chunk_id=item["chunk_id"],
            section=item.get("section") or "",
            excerpt=_excerpt(str(item.get("text", ""))),
            score=float(item.get("score") or 0.0),
        )
        for i, item in enumerate(results)
    ], None


def _side(price: float, average: float | None) -> Literal["above", "below"] | None:
    return None if average is None else ("above" if price >= average else "below")


def _sma(price: float, values: dict[str, Any]) -> SmaState:
    cross = values.get("cross") or None
    trend: Literal["golden cross", "death cross"] | None = None
    if cross is not None:
        trend = "golden cross" if cross["fast_above_slow"] else "death cross"
    return SmaState(
        sma_50=values.get("sma_50"),
        sma_200=values.get("sma_200"),
        price_vs_sma_50=_side(price, values.get("sma_50")),
        price_vs_sma_200=_side(price, values.get("sma_200")),
        trend=trend,
        cross_on=None if cross is None else cross["on"],
    )


def _macd(values: dict[str, Any]) -> Macd | None:
    macd = values.get("macd")
    if not macd:
        return None
    state: Literal["bullish", "bearish"] = "bullish" if macd["histogram"] >= 0 else "bearish"
    return Macd(**macd, state=state)


def _data(result: Any) -> dict[str, Any]:
    assert result.output is not None, "facts are built from answered calls only"
    data: dict[str, Any] = result.output.data
    return data


def symbol_facts(data: SymbolData, first_passage: int) -> SymbolFacts:
    quote, indicators, risk = _data(data.quote), _data(data.indicators), _data(data.risk)
    metric = risk["metrics"][0]
    values: dict[str, Any] = indicators.get("indicators") or {}
    passages, documents_error = _passages(data, first_passage)
    price = float(quote["price"])
    return SymbolFacts(
        symbol=data.symbol,
        name=company_name(data),
        price=price,
        currency=quote.get("currency", "USD"),
        change=quote.get("change"),
        change_percent=quote.get("change_percent"),
        as_of=str(quote["as_of"]),
        source=str(quote["source"]),
        stale=bool(quote.get("stale")) or bool(risk.get("stale")),
        **_risk(metric, risk),
        rsi_14=values.get("rsi_14"),
        rsi_state=rsi_state(values.get("rsi_14")),
        macd=_macd(values),
        sma=_sma(price, values),
        passages=passages,
        documents_error=documents_error,
    )


def portfolio_facts(risk: dict[str, Any]) -> PortfolioFacts:
    portfolio = risk["portfolio"]
    return PortfolioFacts(
        weights=dict(zip(risk["symbols"], risk["weights"], strict=True)),
        **_risk(portfolio, risk),
        diversification_ratio=risk["diversification_ratio"],
        risk_contributions=[RiskContribution(**item) for item in risk["risk_contributions"]],
        largest_risk_contributor=risk["largest_risk_contributor"],
        correlation=risk["correlation"],
    )


def build_facts(request: AnalysisRequested, gathered: Gathered) -> Facts:
    stocks: list[SymbolFacts] = []
    next_passage = 1
    for data in gathered.symbols:
        facts = symbol_facts(data, next_passage)
        next_passage += len(facts.passages)
        stocks.append(facts)
    risk_free = _data(gathered.symbols[0].risk).get("risk_free_rate", 0.0)
    portfolio = gathered.portfolio
    return Facts(
        kind=request.kind,
        symbols=list(request.symbols),
        benchmark=request.benchmark,
        horizon=request.horizon,
        risk_free_rate=risk_free,
        question=request.question,
        stocks=stocks,
        portfolio=None if portfolio is None else portfolio_facts(_data(portfolio)),
    )
