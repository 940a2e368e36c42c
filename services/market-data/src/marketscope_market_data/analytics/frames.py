"""Bars to the frames the analytics read."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd  # type: ignore[import-untyped]

from marketscope_market_data.schemas import Bar


def adjusted_frame(bars: Sequence[Bar]) -> pd.DataFrame:
    """OHLC adjusted for splits and dividends, scaled so the last bar is its traded price:
    returns and indicators are free of split jumps yet read in today's price units."""
    frame = pd.DataFrame(
        [(bar.date, bar.open, bar.high, bar.low, bar.close, bar.adj_close) for bar in bars],
        columns=["date", "open", "high", "low", "close", "adj_close"],
    ).set_index("date")
    frame.index = pd.DatetimeIndex(frame.index)
    if frame.empty:
        return frame[["open", "high", "low", "close"]]
    factor = frame["adj_close"] / frame["close"]
    factor = factor / factor.iloc[-1]
    return frame[["open", "high", "low", "close"]].mul(factor, axis=0)
