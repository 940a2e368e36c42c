"""Risk metrics of daily close series: annualised return and volatility, beta against a
benchmark, Sharpe and Sortino ratios, maximum drawdown, historical 95 % VaR and the
correlation matrix of daily returns. 252 trading days a year."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd  # type: ignore[import-untyped]

TRADING_DAYS = 252


@dataclass(frozen=True)
class RiskMetrics:
    annualised_return: float
    annualised_volatility: float
    beta: float | None
    sharpe: float | None
    sortino: float | None
    max_drawdown: float
    var_95: float


def daily_returns(closes: pd.DataFrame) -> pd.DataFrame:
    """Simple daily returns on the days every series traded."""
    return closes.dropna().pct_change().dropna()


def max_drawdown(close: pd.Series) -> float:
    """The deepest fall from a running peak, as a negative fraction (0 when none)."""
    drawdowns = close / close.cummax() - 1.0
    return float(drawdowns.min())


def _ratio(numerator: float, denominator: float) -> float | None:
    return None if denominator == 0 or math.isnan(denominator) else numerator / denominator


def risk_metrics(
    close: pd.Series,
    returns: pd.Series,
    benchmark_returns: pd.Series | None,
    *,
    risk_free_rate: float = 0.0,
) -> RiskMetrics:
    """Metrics of one series. ``returns`` are its daily returns aligned with the
    benchmark's; ``risk_free_rate`` is annual."""
    mean_daily = float(returns.mean())
    volatility = float(returns.std(ddof=1)) * math.sqrt(TRADING_DAYS)
    years = len(returns) / TRADING_DAYS
    growth = float((1.0 + returns).prod())
    annual_return = growth ** (1.0 / years) - 1.0 if years > 0 else 0.0
    excess_daily = mean_daily - risk_free_rate / TRADING_DAYS
    downside = np.minimum(returns.to_numpy() - risk_free_rate / TRADING_DAYS, 0.0)
    downside_deviation = math.sqrt(float(np.mean(downside**2))) * math.sqrt(TRADING_DAYS)
    beta = None
    if benchmark_returns is not None:
        variance = float(benchmark_returns.var(ddof=1))
        beta = _ratio(float(returns.cov(benchmark_returns, ddof=1)), variance)
    return RiskMetrics(
        annualised_return=annual_return,
        annualised_volatility=volatility,
        beta=beta,
        sharpe=_ratio(excess_daily * TRADING_DAYS, volatility),
        sortino=_ratio(excess_daily * TRADING_DAYS, downside_deviation),
        max_drawdown=max_drawdown(close),
        # Historical VaR: the loss exceeded on 5 % of days, reported as a positive fraction.
        var_95=-float(np.percentile(returns.to_numpy(), 5)),
    )


def correlation(returns: pd.DataFrame) -> dict[str, dict[str, float]]:
    matrix = returns.corr()
    return {
        row: {column: float(matrix.loc[row, column]) for column in matrix.columns}
        for row in matrix.index
    }
