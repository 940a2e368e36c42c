"""The offline default: real historical daily OHLCV replayed by a clock.

Stocks come from ``bokeh_sampledata`` (AAPL, FB, GOOG, IBM, MSFT, 2000-2013, public
domain, from the Quandl WIKI prices); the S&P 500 index (``^GSPC``, the risk benchmark)
from the data file ``arch`` ships (1999-2018). Nothing is invented: a quote is the close
of the clock's trading day, ``as_of`` that day's 16:00 New York close, ``source: replay``.
"""

from __future__ import annotations

import importlib.util
import threading
from bisect import bisect_left
from collections.abc import Sequence
from datetime import date, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd  # type: ignore[import-untyped]

from marketscope_market_data.errors import SymbolNotFound
from marketscope_market_data.providers.base import MarketDataProvider, bars_from_frame, resample
from marketscope_market_data.schemas import History, Interval, Profile, Quote

NEW_YORK = ZoneInfo("America/New_York")
COLUMNS = ["open", "high", "low", "close", "adj_close", "volume"]
PROFILES = {
    "AAPL": ("Apple Inc.", "NASDAQ", "Technology", "Consumer Electronics"),
    "FB": ("Facebook, Inc.", "NASDAQ", "Communication Services", "Internet Content"),
    "GOOG": ("Google Inc.", "NASDAQ", "Communication Services", "Internet Content"),
    "IBM": ("International Business Machines Corporation", "NYSE", "Technology", "IT Services"),
    "MSFT": ("Microsoft Corporation", "NASDAQ", "Technology", "Software"),
    "^GSPC": ("S&P 500 Index", "SNP", None, None),
}


def _stocks_file() -> Path:
    from bokeh_sampledata import package_path

    return Path(package_path("stocks.csv.gz"))


def _sp500_file() -> Path | None:
    # find_spec of the top-level package locates it without importing arch (seconds).
    spec = importlib.util.find_spec("arch")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "data" / "sp500" / "sp500.csv.gz"
    return path if path.exists() else None


def load_dataset() -> dict[str, pd.DataFrame]:
    """Every replay series: a frame per symbol indexed by trading day, ``COLUMNS``."""
    stocks = pd.read_csv(_stocks_file(), parse_dates=["Date"])
    stocks.columns = [name.lower().replace(" ", "_") for name in stocks.columns]
    series = {
        str(ticker): frame.set_index("date")[COLUMNS].sort_index()
        for ticker, frame in stocks.groupby("ticker")
    }
    sp500 = _sp500_file()
    if sp500 is not None:
        index = pd.read_csv(sp500, parse_dates=["Date"], index_col="Date")
        index.columns = [name.lower().replace(" ", "_") for name in index.columns]
        series["^GSPC"] = index[COLUMNS].sort_index()
    return series


class ReplayClock:
    """Steps through historical trading days; wraps to the first day after the last."""

    def __init__(self, trading_days: Sequence[date], start: date) -> None:
        if not trading_days:
            raise ValueError("a replay clock needs trading days")
        self._days = sorted(set(trading_days))
        self._index = min(bisect_left(self._days, start), len(self._days) - 1)
        self._lock = threading.Lock()

    def today(self) -> date:
        return self._days[self._index]

    def advance(self, days: int = 1) -> date:
        with self._lock:
            self._index = (self._index + days) % len(self._days)
            return self._days[self._index]


def market_close(day: date) -> datetime:
    return datetime.combine(day, time(16, 0), NEW_YORK)


class ReplayProvider(MarketDataProvider):
    name = "replay"

    def __init__(self, dataset: dict[str, pd.DataFrame], clock: ReplayClock) -> None:
        self._data = dataset
        self.clock = clock

    @classmethod
    def from_package_data(cls, start: date) -> ReplayProvider:
        dataset = load_dataset()
        stock_days = {
            day.date()
            for symbol, frame in dataset.items()
            if symbol != "^GSPC"
            for day in frame.index
        }
        return cls(dataset, ReplayClock(sorted(stock_days), start))

    @property
    def symbols(self) -> list[str]:
        return sorted(self._data)

    def today(self) -> date:
        return self.clock.today()

    def _frame(self, symbol: str, end: date) -> pd.DataFrame:
        frame = self._data.get(symbol)
        if frame is None:
            raise SymbolNotFound(symbol)
        visible = frame.loc[: pd.Timestamp(end)]
        if visible.empty:
            raise SymbolNotFound(symbol, f"{symbol} had not traded yet on {end.isoformat()}.")
        return visible

    async def quote(self, symbol: str) -> Quote:
        frame = self._frame(symbol, self.today())
        last = frame.iloc[-1]
        previous = float(frame["close"].iloc[-2]) if len(frame) > 1 else None
        day = pd.Timestamp(frame.index[-1]).date()
        return Quote(
            symbol=symbol,
            price=float(last["close"]),
            previous_close=previous,
            open=float(last["open"]),
            day_high=float(last["high"]),
            day_low=float(last["low"]),
            volume=int(last["volume"]),
            as_of=market_close(day),
            source=self.name,
        )

    async def history(self, symbol: str, start: date, end: date, interval: Interval) -> History:
        frame = self._frame(symbol, min(end, self.today()))
        window = frame.loc[pd.Timestamp(start) :]
        return History(
            symbol=symbol,
            interval=interval,
            bars=bars_from_frame(resample(window, interval)),
            source=self.name,
        )

    async def profile(self, symbol: str) -> Profile:
        self._frame(symbol, self.today())
        name, exchange, sector, industry = PROFILES.get(symbol, (symbol, None, None, None))
        return Profile(
            symbol=symbol,
            name=name,
            exchange=exchange,
            sector=sector,
            industry=industry,
            summary="Replayed historical daily prices (public-domain sample data).",
            source=self.name,
        )
