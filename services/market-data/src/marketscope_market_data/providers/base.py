"""The provider port: what every source of market data answers, in the same types."""

from __future__ import annotations

from abc import ABC, abstractmethod
from datetime import UTC, date, datetime

import pandas as pd  # type: ignore[import-untyped]

from marketscope_market_data.errors import SymbolNotFound
from marketscope_market_data.schemas import Bar, History, Interval, Profile, Quote

_RULES = {"1wk": "W-FRI", "1mo": "ME"}


class MarketDataProvider(ABC):
    """A source of quotes, daily history and company profiles.

    Raises ``SymbolNotFound`` for a symbol it does not know and ``ProviderUnavailable``
    when it cannot answer now; anything else is a bug.
    """

    name: str

    @abstractmethod
    async def quote(self, symbol: str) -> Quote: ...

    @abstractmethod
    async def history(self, symbol: str, start: date, end: date, interval: Interval) -> History:
        """Bars with ``start <= date <= end`` (the provider's today at most)."""

    @abstractmethod
    async def profile(self, symbol: str) -> Profile: ...

    def today(self) -> date:
        """The provider's current market date (a replay provider's is historical)."""
        return datetime.now(UTC).date()

    async def knows(self, symbol: str) -> bool:
        """Whether the provider has data for ``symbol``; ``ProviderUnavailable`` when it
        cannot tell now. By default, whether it can quote it (one quote call)."""
        try:
            await self.quote(symbol)
        except SymbolNotFound:
            return False
        return True

    def listed_symbols(self) -> list[str] | None:
        """Every symbol it has data for, when that is a closed list (a replay); None when
        it can look up symbols it has never listed (a live feed)."""
        return None

    def is_current(self, quote: Quote) -> bool:
        """Whether a quote this provider gave earlier is still what it would answer, as
        far as it can tell without a call (a replay whose clock moved on says no)."""
        return True


PRICE_COLUMNS = ("open", "high", "low", "close", "adj_close")


def bars_from_frame(frame: pd.DataFrame) -> list[Bar]:
    """Bars from a frame indexed by date with open/high/low/close/adj_close/volume.

    Column by column (``tolist`` gives Python floats and ints at once): ``iterrows``
    builds a Series per row, and was a fifth of the service's CPU under load.
    """
    days = pd.DatetimeIndex(frame.index).date
    columns = (frame[name].astype(float).tolist() for name in PRICE_COLUMNS)
    volumes = frame["volume"].astype("int64").tolist()
    return [
        Bar(date=day, open=o, high=h, low=low, close=c, adj_close=adj, volume=volume)
        for day, o, h, low, c, adj, volume in zip(days, *columns, volumes, strict=True)
    ]


def resample(frame: pd.DataFrame, interval: Interval) -> pd.DataFrame:
    """Daily bars aggregated to weeks or months, each labelled by its last trading day."""
    if interval == "1d" or frame.empty:
        return frame
    grouped = frame.groupby(pd.Grouper(freq=_RULES[interval]))
    out = grouped.agg(
        {
            "open": "first",
            "high": "max",
            "low": "min",
            "close": "last",
            "adj_close": "last",
            "volume": "sum",
        }
    ).dropna(subset=["close"])
    last_days = frame.index.to_series().groupby(pd.Grouper(freq=_RULES[interval])).max()
    out.index = pd.DatetimeIndex(last_days.loc[out.index].to_numpy())
    return out
