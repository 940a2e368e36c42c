"""The offline default: real historical daily OHLCV replayed by a clock.

Stocks come from ``bokeh_sampledata`` (AAPL, FB, GOOG, IBM, MSFT, 2000-2013, public
domain, from the Quandl WIKI prices); the S&P 500 index (``^GSPC``, the risk benchmark)
from the data file ``arch`` ships (1999-2018). Nothing is invented: a quote is the close
of the clock's trading day, ``as_of`` that day's 16:00 New York close, ``source: replay``.

The clock never runs backwards. At the end of its data it stops, and every quote holds
the last close marked ``stale: true`` (an unchanged price publishes nothing); history,
indicators and risk keep answering from the bars up to that day. Wrapping to the first
day instead would report a move from the last day's prices to those of 13 years earlier
that never happened. Likewise a symbol whose own data ended before the clock's day holds
its last close, stale; one that had not traded yet on the clock's day has no quote (404,
saying when its data begins). Restarting the service starts the replay again.
"""

from __future__ import annotations

import importlib.util
import logging
import threading
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from datetime import date, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd  # type: ignore[import-untyped]

from marketscope_market_data.errors import HistoryOutOfRange, SymbolNotFound
from marketscope_market_data.providers.base import MarketDataProvider, bars_from_frame, resample
from marketscope_market_data.schemas import History, Interval, Profile, Quote

logger = logging.getLogger(__name__)
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
    """Steps through historical trading days, forward only, and stops at the last one:
    from then on ``ended`` is true and ``today`` stays the last day."""

    def __init__(self, trading_days: Sequence[date], start: date) -> None:
        if not trading_days:
            raise ValueError("a replay clock needs trading days")
        self._days = sorted(set(trading_days))
        position = bisect_left(self._days, start)
        self._index = min(position, len(self._days) - 1)
        self._ended = position >= len(self._days)
        self._lock = threading.Lock()

    @property
    def ended(self) -> bool:
        """True once the clock was asked to go past its last trading day."""
        return self._ended

    def today(self) -> date:
        return self._days[self._index]

    def advance(self, days: int = 1) -> date:
        if days < 0:
            raise ValueError("a replay clock never runs backwards")
        with self._lock:
            last = len(self._days) - 1
            target = self._index + days
            if target > last and not self._ended:
                self._ended = True
                logger.warning(
                    "the replay reached the end of its data: quotes hold the last close, stale",
                    extra={"last_day": self._days[last].isoformat()},
                )
            self._index = min(target, last)
            return self._days[self._index]


def market_close(day: date) -> datetime:
    return datetime.combine(day, time(16, 0), NEW_YORK)


class ReplayProvider(MarketDataProvider):
    name = "replay"

    def __init__(self, dataset: dict[str, pd.DataFrame], clock: ReplayClock) -> None:
        self._data = dataset
        # Each series' trading days, for bisecting on the hot path (no pandas slicing).
        self._days = {
            symbol: [pd.Timestamp(day).date() for day in frame.index]
            for symbol, frame in dataset.items()
        }
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

    def listed_symbols(self) -> list[str]:
        return sorted(self._data)

    def today(self) -> date:
        return self.clock.today()

    async def knows(self, symbol: str) -> bool:
        return symbol in self._data

    def _trading_days(self, symbol: str) -> list[date]:
        days = self._days.get(symbol)
        if days is None:
            raise SymbolNotFound(symbol)
        return days

    def _last_visible(self, symbol: str) -> tuple[int, bool]:
        """The row of the symbol's last bar on or before the clock's day, and whether it
        is stale: the replay has ended, or the symbol's own data ended before today."""
        days = self._trading_days(symbol)
        today = self.today()
        row = bisect_right(days, today) - 1
        if row < 0:
            raise SymbolNotFound(
                symbol,
                f"{symbol} had not traded yet on {today.isoformat()}; "
                f"its data begins {days[0].isoformat()}.",
            )
        return row, self.clock.ended or days[row] < today

    def is_current(self, quote: Quote) -> bool:
        try:
            row, stale = self._last_visible(quote.symbol)
        except SymbolNotFound:
            return False
        day = self._days[quote.symbol][row]
        return quote.stale == stale and quote.as_of == market_close(day)

    async def quote(self, symbol: str) -> Quote:
        row, stale = self._last_visible(symbol)
        frame = self._data[symbol]
        last = frame.iloc[row]
        previous = float(frame["close"].iloc[row - 1]) if row > 0 else None
        return Quote(
            symbol=symbol,
            price=float(last["close"]),
            previous_close=previous,
            open=float(last["open"]),
            day_high=float(last["high"]),
            day_low=float(last["low"]),
            volume=int(last["volume"]),
            as_of=market_close(self._days[symbol][row]),
            source=self.name,
            stale=stale,
        )

    async def history(self, symbol: str, start: date, end: date, interval: Interval) -> History:
        days = self._trading_days(symbol)
        today = self.today()
        end = min(end, today)
        if end < days[0]:
            raise HistoryOutOfRange(
                symbol, position="before-data", start=start, end=end, boundary=days[0]
            )
        last_day = days[bisect_right(days, today) - 1]
        if start > last_day:
            raise HistoryOutOfRange(
                symbol, position="after-data", start=start, end=end, boundary=last_day
            )
        window = self._data[symbol].loc[pd.Timestamp(start) : pd.Timestamp(end)]
        return History(
            symbol=symbol,
            interval=interval,
            bars=bars_from_frame(resample(window, interval)),
            source=self.name,
        )

    async def profile(self, symbol: str) -> Profile:
        self._last_visible(symbol)
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
