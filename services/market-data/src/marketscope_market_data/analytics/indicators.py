"""Technical indicators over a close (and high/low) series, with the textbook definitions:
SMA, EMA (span, no bias adjustment), Wilder's RSI and ATR, MACD 12/26/9, Bollinger bands
20/2 (population standard deviation), and golden/death crosses of SMA 50 over SMA 200."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal

import numpy as np
import pandas as pd  # type: ignore[import-untyped]

CrossKind = Literal["golden", "death"]


def sma(close: pd.Series, window: int) -> pd.Series:
    return close.rolling(window, min_periods=window).mean()


def ema(close: pd.Series, span: int) -> pd.Series:
    return close.ewm(span=span, min_periods=span, adjust=False).mean()


def rsi(close: pd.Series, window: int = 14) -> pd.Series:
    """Wilder's RSI: gains and losses smoothed with alpha = 1/window."""
    diff = close.diff()
    gains = diff.clip(lower=0.0)
    losses = (-diff).clip(lower=0.0)
    avg_gain = gains.ewm(alpha=1 / window, min_periods=window, adjust=False).mean()
    avg_loss = losses.ewm(alpha=1 / window, min_periods=window, adjust=False).mean()
    with np.errstate(divide="ignore", invalid="ignore"):
        strength = avg_gain / avg_loss
    values = 100.0 - 100.0 / (1.0 + strength)
    # No losses at all over the window: the RSI is 100 by definition.
    return values.where(avg_loss != 0, 100.0).where(avg_gain.notna())


@dataclass(frozen=True)
class Macd:
    macd: float
    signal: float
    histogram: float


def macd(close: pd.Series, fast: int = 12, slow: int = 26, signal: int = 9) -> Macd | None:
    line = ema(close, fast) - ema(close, slow)
    signal_line = ema(line.dropna(), signal)
    if signal_line.dropna().empty:
        return None
    last_macd, last_signal = float(line.iloc[-1]), float(signal_line.iloc[-1])
    return Macd(last_macd, last_signal, last_macd - last_signal)


@dataclass(frozen=True)
class Bollinger:
    middle: float
    upper: float
    lower: float
    percent_b: float


def bollinger(close: pd.Series, window: int = 20, deviations: float = 2.0) -> Bollinger | None:
    if len(close) < window:
        return None
    middle = sma(close, window).iloc[-1]
    spread = deviations * close.rolling(window).std(ddof=0).iloc[-1]
    upper, lower = middle + spread, middle - spread
    percent_b = (close.iloc[-1] - lower) / (upper - lower) if upper != lower else 0.5
    return Bollinger(float(middle), float(upper), float(lower), float(percent_b))


def atr(high: pd.Series, low: pd.Series, close: pd.Series, window: int = 14) -> pd.Series:
    """Wilder's average true range, seeded with the mean of the first ``window`` ranges."""
    previous = close.shift(1)
    true_range = pd.concat(
        [high - low, (high - previous).abs(), (low - previous).abs()], axis=1
    ).max(axis=1)
    values = np.full(len(close), np.nan)
    if len(close) >= window:
        values[window - 1] = true_range.iloc[:window].mean()
        for i in range(window, len(close)):
            values[i] = (values[i - 1] * (window - 1) + true_range.iloc[i]) / window
    return pd.Series(values, index=close.index)


@dataclass(frozen=True)
class Cross:
    kind: CrossKind
    on: date
    fast_above_slow: bool


def last_cross(close: pd.Series, fast: int = 50, slow: int = 200) -> Cross | None:
    """The latest day SMA ``fast`` crossed SMA ``slow``: golden upward, death downward."""
    fast_line, slow_line = sma(close, fast), sma(close, slow)
    valid = fast_line.notna() & slow_line.notna()
    above = (fast_line > slow_line)[valid]
    if above.empty:
        return None
    changed = above.ne(above.shift()) & above.shift().notna()
    currently_above = bool(above.iloc[-1])
    if not changed.any():
        return None
    day = changed[changed].index[-1]
    kind: CrossKind = "golden" if bool(above.loc[day]) else "death"
    return Cross(kind, pd.Timestamp(day).date(), currently_above)
