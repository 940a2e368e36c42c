"""The service's value types: what providers return and what the HTTP API answers.

Prices are JSON numbers here (the QuoteUpdated event carries them as decimal strings)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

Symbol = Annotated[str, Field(pattern=r"^[A-Z0-9^][A-Z0-9.\-^=]{0,14}$", examples=["AAPL"])]
Interval = Literal["1d", "1wk", "1mo"]
INTERVALS: tuple[Interval, ...] = ("1d", "1wk", "1mo")
Period = Literal["1mo", "3mo", "6mo", "ytd", "1y", "2y", "5y", "10y", "max"]
IndicatorName = Literal["sma", "ema", "rsi", "macd", "bollinger", "atr", "cross"]
INDICATOR_NAMES: tuple[IndicatorName, ...] = (
    "sma",
    "ema",
    "rsi",
    "macd",
    "bollinger",
    "atr",
    "cross",
)


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True)


class Quote(_Model):
    """The latest price a provider reported for a symbol."""

    symbol: Symbol
    price: float = Field(ge=0)
    previous_close: float | None = Field(default=None, ge=0)
    open: float | None = None
    day_high: float | None = None
    day_low: float | None = None
    volume: int | None = None
    currency: str = "USD"
    as_of: datetime = Field(description="Market time the price refers to (historical for replay)")
    source: str = Field(description="Provider that served the price: replay, yfinance")
    stale: bool = Field(
        default=False,
        description="True when the provider has no newer price (the replay's data has ended)",
    )


class QuoteResponse(Quote):
    change: float | None = Field(description="price - previous_close")
    change_percent: float | None = Field(description="change relative to previous_close, in %")
    stale: bool = Field(
        description="True when the price is not current: the provider failed and a cached "
        "copy answers, or the provider's data for the symbol has ended (replay)"
    )


class SymbolError(_Model):
    symbol: str
    status: int
    detail: str
    known_symbols: list[str] | None = Field(
        default=None,
        description="An unknown symbol where the providers' symbols are a closed list (the "
        "offline replay): every symbol there is data for",
    )


class QuoteBatch(_Model):
    quotes: list[QuoteResponse]
    errors: list[SymbolError] = Field(description="Symbols that could not be quoted, and why")


class Bar(_Model):
    date: date
    open: float
    high: float
    low: float
    close: float
    adj_close: float = Field(description="Close adjusted for later splits and dividends")
    volume: int


class History(_Model):
    symbol: Symbol
    interval: Interval
    bars: list[Bar]
    source: str


class HistoryResponse(History):
    start: date
    end: date
    stale: bool


class Profile(_Model):
    symbol: Symbol
    name: str
    exchange: str | None = None
    currency: str = "USD"
    sector: str | None = None
    industry: str | None = None
    website: str | None = None
    summary: str | None = None
    source: str


class ProfileResponse(Profile):
    stale: bool


class MacdValue(_Model):
    macd: float
    signal: float
    histogram: float


class BollingerValue(_Model):
    middle: float
    upper: float
    lower: float
    percent_b: float


class CrossSignal(_Model):
    kind: Literal["golden", "death"] = Field(description="SMA 50 crossed SMA 200 up or down")
    on: date
    fast_above_slow: bool


class Indicators(_Model):
    """Latest values; an indicator not asked for, or without enough bars, is null."""

    sma_20: float | None = None
    sma_50: float | None = None
    sma_200: float | None = None
    ema_12: float | None = None
    ema_26: float | None = None
    rsi_14: float | None = None
    macd: MacdValue | None = None
    bollinger: BollingerValue | None = None
    atr_14: float | None = None
    cross: CrossSignal | None = None


class IndicatorsResponse(_Model):
    symbol: Symbol
    as_of: date = Field(description="Date of the last bar used")
    close: float
    bars_used: int
    names: list[IndicatorName]
    indicators: Indicators
    source: str
    stale: bool


class SymbolRisk(_Model):
    symbol: Symbol
    annualised_return: float
    annualised_volatility: float
    beta: float | None = Field(description="Against the benchmark; null without one")
    sharpe: float | None
    sortino: float | None
    max_drawdown: float = Field(description="Deepest fall from a peak, a negative fraction")
    var_95: float = Field(description="Historical one-day 95 % value at risk, a positive fraction")


class RiskResponse(_Model):
    symbols: list[Symbol]
    benchmark: Symbol | None
    start: date
    end: date
    observations: int = Field(description="Daily returns used (days every series traded)")
    risk_free_rate: float
    metrics: list[SymbolRisk]
    correlation: dict[str, dict[str, float]]
    stale: bool


class PortfolioMetrics(_Model):
    """The metrics of `SymbolRisk`, of the portfolio's daily returns (rebalanced daily to
    the weights)."""

    annualised_return: float
    annualised_volatility: float
    beta: float | None = Field(description="Against the benchmark; null without one")
    sharpe: float | None
    sortino: float | None
    max_drawdown: float = Field(
        description="Deepest fall from a peak of the compounded daily returns, a negative fraction"
    )
    var_95: float = Field(description="Historical one-day 95 % value at risk, a positive fraction")


class RiskContribution(_Model):
    symbol: Symbol
    weight: float
    volatility: float = Field(description="The symbol's annualised volatility")
    contribution: float = Field(
        description="Share of the portfolio's variance, w_i (Sigma w)_i / (w' Sigma w); "
        "the shares sum to 1 (one can be negative: a hedge)"
    )


class PortfolioRiskResponse(_Model):
    symbols: list[Symbol]
    weights: list[float] = Field(description="One per symbol, as used (equal when not given)")
    benchmark: Symbol | None
    start: date
    end: date
    observations: int = Field(description="Daily returns used (days every series traded)")
    risk_free_rate: float
    metrics: list[SymbolRisk] = Field(description="Each symbol's own, over the same returns")
    portfolio: PortfolioMetrics
    diversification_ratio: float = Field(
        description="Weighted sum of the symbols' volatilities over the portfolio's; 1 when "
        "nothing diversifies"
    )
    risk_contributions: list[RiskContribution] = Field(
        description="Each symbol's share of the portfolio's variance (Sigma: sample covariance "
        "of daily returns)"
    )
    largest_risk_contributor: Symbol = Field(description="The symbol with the largest share")
    correlation: dict[str, dict[str, float]]
    stale: bool


class WatchlistUpdate(_Model):
    symbols: list[Symbol] = Field(max_length=100)


class Watchlist(_Model):
    owner: str
    symbols: list[Symbol]
    updated_at: datetime | None = Field(description="null for a watchlist never saved")


class RefreshSummary(_Model):
    """What one scheduled refresh did."""

    symbols: int
    refreshed: int
    changed: int
    failed: list[SymbolError] = Field(description="Provider failures (alarmed)")
    unknown: list[str] = Field(
        default_factory=list,
        description="Symbols no provider has data for (on the replay's day): not failures",
    )
