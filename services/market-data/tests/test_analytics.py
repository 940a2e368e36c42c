"""Indicators, risk metrics and portfolio risk against independent computations: the ``ta``
library and plain numpy/pandas on the replay data and synthetic returns, and hand-worked
small series."""

from __future__ import annotations

import math
from datetime import date

import numpy as np
import pandas as pd
import pytest
from ta.momentum import RSIIndicator
from ta.trend import MACD, EMAIndicator, SMAIndicator
from ta.volatility import AverageTrueRange, BollingerBands

from marketscope_market_data.analytics import indicators as ind
from marketscope_market_data.analytics.risk import (
    DegeneratePortfolio,
    max_drawdown,
    portfolio_risk,
    risk_metrics,
)
from marketscope_market_data.providers.replay import load_dataset


@pytest.fixture(scope="module")
def ibm() -> pd.DataFrame:
    return load_dataset()["IBM"].loc["2010-01-01":"2012-12-31"]


@pytest.fixture(scope="module")
def dataset() -> dict[str, pd.DataFrame]:
    return load_dataset()


def test_moving_averages_match_ta(ibm: pd.DataFrame):
    close = ibm["close"]
    assert ind.sma(close, 20).iloc[-1] == pytest.approx(
        SMAIndicator(close, 20).sma_indicator().iloc[-1]
    )
    assert ind.ema(close, 12).iloc[-1] == pytest.approx(
        EMAIndicator(close, 12).ema_indicator().iloc[-1]
    )


def test_rsi_matches_ta(ibm: pd.DataFrame):
    # ta counts the first day (no change) as a zero gain and loss; Wilder starts at the
    # first change. The seed's weight decays by 13/14 a day: after a year they agree.
    ours = ind.rsi(ibm["close"], 14).iloc[-250:]
    theirs = RSIIndicator(ibm["close"], 14).rsi().iloc[-250:]
    np.testing.assert_allclose(ours.to_numpy(), theirs.to_numpy(), rtol=1e-9)


def test_macd_matches_ta(ibm: pd.DataFrame):
    ours = ind.macd(ibm["close"])
    theirs = MACD(ibm["close"])
    assert ours is not None
    assert ours.macd == pytest.approx(theirs.macd().iloc[-1])
    assert ours.signal == pytest.approx(theirs.macd_signal().iloc[-1])
    assert ours.histogram == pytest.approx(theirs.macd_diff().iloc[-1])


def test_bollinger_matches_ta(ibm: pd.DataFrame):
    ours = ind.bollinger(ibm["close"])
    theirs = BollingerBands(ibm["close"], 20, 2)
    assert ours is not None
    assert ours.upper == pytest.approx(theirs.bollinger_hband().iloc[-1])
    assert ours.lower == pytest.approx(theirs.bollinger_lband().iloc[-1])
    assert ours.percent_b == pytest.approx(theirs.bollinger_pband().iloc[-1])


def test_atr_matches_ta(ibm: pd.DataFrame):
    ours = ind.atr(ibm["high"], ibm["low"], ibm["close"], 14)
    theirs = AverageTrueRange(ibm["high"], ibm["low"], ibm["close"], 14).average_true_range()
    assert ours.iloc[-1] == pytest.approx(theirs.iloc[-1])


def test_rsi_by_hand():
    # Gains of 1 for 14 days then one loss of 2: avg gain 13/14, avg loss 2/14 (Wilder).
    close = pd.Series([float(i) for i in range(15)] + [12.0])
    value = ind.rsi(close, 14).iloc[-1]
    assert value == pytest.approx(100 - 100 / (1 + 13 / 2))
    assert ind.rsi(pd.Series([float(i) for i in range(20)]), 14).iloc[-1] == 100.0


def test_cross_by_hand():
    days = pd.bdate_range("2020-01-01", periods=8)
    close = pd.Series([5, 4, 3, 2, 3, 4, 5, 6], index=days, dtype=float)
    cross = ind.last_cross(close, fast=2, slow=3)
    assert cross is not None
    # SMA2 passes above SMA3 on the 6th day (3.5 vs 3.0; the day before 2.5 vs 2.67).
    assert (cross.kind, cross.on, cross.fast_above_slow) == ("golden", date(2020, 1, 8), True)


def test_golden_cross_of_msft_in_the_replay_data(dataset: dict[str, pd.DataFrame]):
    close = dataset["MSFT"]["close"].loc[:"2012-12-31"]
    cross = ind.last_cross(close)
    fast, slow = close.rolling(50).mean(), close.rolling(200).mean()
    above = (fast > slow)[slow.notna()]
    flips = above[above != above.shift()].index[1:]
    assert cross is not None
    assert pd.Timestamp(cross.on) == flips[-1]


def test_risk_metrics_by_hand():
    close = pd.Series([100.0, 110.0, 99.0, 108.9])
    returns = close.pct_change().dropna()  # +10 %, -10 %, +10 %
    bench = returns / 2
    metrics = risk_metrics(close, returns, bench)
    assert metrics.beta == pytest.approx(2.0)
    assert metrics.max_drawdown == pytest.approx(-0.1)
    growth = 1.1 * 0.9 * 1.1
    assert metrics.annualised_return == pytest.approx(growth ** (252 / 3) - 1)
    assert metrics.annualised_volatility == pytest.approx(returns.std() * math.sqrt(252))
    assert metrics.var_95 == pytest.approx(-np.percentile(returns, 5))


def test_risk_metrics_on_replay_against_numpy(dataset: dict[str, pd.DataFrame]):
    closes = (
        pd.DataFrame({"AAPL": dataset["AAPL"]["adj_close"], "SPX": dataset["^GSPC"]["adj_close"]})
        .loc["2011-03-01":"2012-03-01"]
        .dropna()
    )
    returns = closes.pct_change().dropna()
    metrics = risk_metrics(closes["AAPL"], returns["AAPL"], returns["SPX"], risk_free_rate=0.02)
    a, b = returns["AAPL"].to_numpy(), returns["SPX"].to_numpy()
    beta = np.cov(a, b, ddof=1)[0, 1] / np.var(b, ddof=1)
    excess = a - 0.02 / 252
    sharpe = excess.mean() / a.std(ddof=1) * math.sqrt(252)
    sortino = (
        excess.mean() * 252 / (math.sqrt(np.mean(np.minimum(excess, 0) ** 2)) * math.sqrt(252))
    )
    peak = np.maximum.accumulate(closes["AAPL"].to_numpy())
    assert metrics.beta == pytest.approx(beta)
    assert metrics.sharpe == pytest.approx(sharpe)
    assert metrics.sortino == pytest.approx(sortino)
    assert metrics.max_drawdown == pytest.approx((closes["AAPL"].to_numpy() / peak - 1).min())
    assert max_drawdown(pd.Series([1.0, 2.0, 3.0])) == 0.0


def synthetic_returns(days: int = 300, seed: int = 7) -> pd.DataFrame:
    """Correlated daily returns of three symbols and a benchmark."""
    rng = np.random.default_rng(seed)
    market = rng.normal(0.0004, 0.01, days)
    index = pd.bdate_range("2020-01-01", periods=days)
    return pd.DataFrame(
        {
            "A": 1.2 * market + rng.normal(0.0002, 0.012, days),
            "B": 0.6 * market + rng.normal(0.0001, 0.008, days),
            "C": -1.0 * market + rng.normal(0.0003, 0.004, days),
            "BENCH": market,
        },
        index=index,
    )


def test_portfolio_risk_matches_numpy():
    frame = synthetic_returns()
    holdings, bench = frame[["A", "B", "C"]], frame["BENCH"]
    w = np.array([0.5, 0.3, 0.2])
    result = portfolio_risk(holdings, list(w), bench, risk_free_rate=0.01)

    r = holdings.to_numpy()
    rp = r @ w
    sigma = np.cov(r, rowvar=False, ddof=1)
    vols = np.sqrt(np.diag(sigma) * 252)
    vol_p = np.sqrt(w @ sigma @ w * 252)
    wealth = np.concatenate(([1.0], np.cumprod(1 + rp)))
    excess = rp - 0.01 / 252
    metrics = result.metrics
    assert metrics.annualised_volatility == pytest.approx(vol_p)
    assert metrics.annualised_volatility == pytest.approx(rp.std(ddof=1) * math.sqrt(252))
    assert metrics.annualised_return == pytest.approx(np.prod(1 + rp) ** (252 / len(rp)) - 1)
    assert metrics.beta == pytest.approx(np.cov(rp, bench, ddof=1)[0, 1] / np.var(bench, ddof=1))
    assert metrics.sharpe == pytest.approx(excess.mean() * 252 / vol_p)
    assert metrics.max_drawdown == pytest.approx((wealth / np.maximum.accumulate(wealth) - 1).min())
    assert metrics.var_95 == pytest.approx(-np.percentile(rp, 5))
    assert result.volatilities == pytest.approx(tuple(vols))
    assert result.diversification_ratio == pytest.approx(w @ vols / vol_p)
    assert result.diversification_ratio > 1
    contributions = w * (sigma @ w) / (w @ sigma @ w)
    assert result.contributions == pytest.approx(tuple(contributions))
    assert sum(result.contributions) == pytest.approx(1.0)
    # C moves against the market: it hedges, taking a negative share of the variance.
    assert result.contributions[2] < 0


def test_perfectly_correlated_holdings_do_not_diversify():
    frame = synthetic_returns()
    holdings = pd.DataFrame({"A": frame["A"], "A2": 2 * frame["A"]})
    result = portfolio_risk(holdings, [0.25, 0.75], None)
    assert result.diversification_ratio == pytest.approx(1.0)
    assert result.metrics.beta is None
    # Shares of the variance are then in proportion to weighted volatility: 1 to 6.
    assert result.contributions == pytest.approx((1 / 7, 6 / 7))


def test_a_single_holding_is_its_own_risk():
    frame = synthetic_returns()
    returns = frame[["A"]]
    close = pd.concat([pd.Series([1.0]), (1 + returns["A"]).cumprod()], ignore_index=True)
    alone = risk_metrics(close, returns["A"], frame["BENCH"])
    result = portfolio_risk(returns, [1.0], frame["BENCH"])
    assert result.diversification_ratio == pytest.approx(1.0)
    assert result.contributions == pytest.approx((1.0,))
    assert result.metrics == alone


def test_a_fall_on_the_first_day_counts_in_the_portfolio_drawdown():
    returns = pd.DataFrame({"A": [-0.2, 0.1, 0.05], "B": [-0.1, 0.0, 0.02]})
    result = portfolio_risk(returns, [0.5, 0.5], None)
    assert result.metrics.max_drawdown == pytest.approx(-0.15)


def test_a_portfolio_without_variance_is_refused():
    flat = pd.DataFrame({"A": [0.01, -0.01, 0.02], "B": [-0.01, 0.01, -0.02]})
    with pytest.raises(DegeneratePortfolio):
        portfolio_risk(flat, [0.5, 0.5], None)
    with pytest.raises(ValueError, match="2 return series but 3 weights"):
        portfolio_risk(flat, [0.5, 0.25, 0.25], None)
