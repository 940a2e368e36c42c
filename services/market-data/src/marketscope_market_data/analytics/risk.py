"""Risk metrics of daily close series: annualised return and volatility, beta against a
benchmark, Sharpe and Sortino ratios, maximum drawdown, historical 95 % VaR and the
correlation matrix of daily returns; and the same of a weighted portfolio, with its
diversification ratio and each holding's share of its variance. 252 trading days a year."""

from __future__ import annotations

import math
from collections.abc import Sequence
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


class DegeneratePortfolio(ValueError):
    """The portfolio's daily returns do not vary: there is no risk to attribute."""


@dataclass(frozen=True)
class PortfolioRisk:
    """A portfolio rebalanced daily to fixed weights. ``volatilities`` (annualised) and
    ``contributions`` (fractions of the portfolio's variance, summing to 1) follow the
    order of the return columns."""

    metrics: RiskMetrics
    diversification_ratio: float
    volatilities: tuple[float, ...]
    contributions: tuple[float, ...]


def portfolio_risk(
    returns: pd.DataFrame,
    weights: Sequence[float],
    benchmark_returns: pd.Series | None,
    *,
    risk_free_rate: float = 0.0,
) -> PortfolioRisk:
    """Risk of the portfolio whose daily return is ``returns @ weights``: one weight per
    column, the columns' daily returns on common days."""
    w = np.asarray(weights, dtype=float)
    if w.shape != (returns.shape[1],):
        raise ValueError(f"{returns.shape[1]} return series but {len(w)} weights")
    portfolio_returns = pd.Series(returns.to_numpy() @ w, index=returns.index)
    # The wealth curve starts at 1 the day before the first return, so a fall on that
    # first day counts, as it does in each symbol's own close series.
    wealth = pd.Series(np.concatenate(([1.0], np.cumprod(1.0 + portfolio_returns.to_numpy()))))
    covariance = returns.cov(ddof=1).to_numpy()
    marginal = covariance @ w
    variance = float(w @ marginal)
    volatilities = np.sqrt(np.diag(covariance) * TRADING_DAYS)
    weighted_volatility = float(w @ volatilities)
    # Rounding leaves a tiny positive variance where the true one is zero (returns that
    # cancel out exactly); it would make the ratios huge rather than undefined.
    if not variance > 1e-12 * weighted_volatility**2 / TRADING_DAYS:
        raise DegeneratePortfolio("the portfolio's daily returns do not vary")
    metrics = risk_metrics(
        wealth, portfolio_returns, benchmark_returns, risk_free_rate=risk_free_rate
    )
    return PortfolioRisk(
        metrics=metrics,
        diversification_ratio=weighted_volatility / math.sqrt(variance * TRADING_DAYS),
        volatilities=tuple(float(v) for v in volatilities),
        contributions=tuple(float(c) for c in w * marginal / variance),
    )
