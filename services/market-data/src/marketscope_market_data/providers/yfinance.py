"""Real market data from Yahoo Finance through ``yfinance``, when online.

yfinance is blocking and can stall for minutes on a dropped network, so every call runs
on the guard's threads with a hard timeout, retries and a circuit breaker. Its odd
failure modes are mapped: an empty frame or an ``info`` of None/without a name is an
unknown symbol; DNS, connection, timeout and rate-limit errors are transient and end as
``ProviderUnavailable``.
"""

from __future__ import annotations

import socket
from datetime import date, timedelta
from typing import Any, Protocol

import pandas as pd  # type: ignore[import-untyped]

from marketscope_market_data.errors import ProviderUnavailable, SymbolNotFound
from marketscope_market_data.providers.base import MarketDataProvider, bars_from_frame
from marketscope_market_data.providers.resilience import ProviderGuard, TransientProviderError
from marketscope_market_data.schemas import History, Interval, Profile, Quote

_TRANSIENT_NAMES = ("RateLimit", "Timeout", "Connection", "DNS", "Curl", "SSL")


class YahooFetcher(Protocol):
    """The blocking calls the provider makes; tests inject a fake."""

    def history(self, symbol: str, start: date, end: date, interval: str) -> pd.DataFrame: ...

    def info(self, symbol: str) -> dict[str, Any] | None: ...


class YFinanceFetcher:
    """The real fetcher: yfinance's ``Ticker`` (unadjusted OHLC plus ``Adj Close``)."""

    def history(self, symbol: str, start: date, end: date, interval: str) -> pd.DataFrame:
        import yfinance  # type: ignore[import-untyped]

        return yfinance.Ticker(symbol).history(
            start=start.isoformat(),
            end=(end + timedelta(days=1)).isoformat(),
            interval=interval,
            auto_adjust=False,
            raise_errors=True,
        )

    def info(self, symbol: str) -> dict[str, Any] | None:
        import yfinance

        info: dict[str, Any] | None = yfinance.Ticker(symbol).info
        return info


def is_transient(exc: BaseException) -> bool:
    if isinstance(exc, OSError | socket.gaierror | TimeoutError | ConnectionError):
        return True
    return any(part in type(exc).__name__ for part in _TRANSIENT_NAMES)


class YFinanceProvider(MarketDataProvider):
    name = "yfinance"

    def __init__(self, guard: ProviderGuard, fetcher: YahooFetcher | None = None) -> None:
        self._guard = guard
        self._fetcher = fetcher or YFinanceFetcher()

    async def _frame(self, symbol: str, start: date, end: date, interval: str) -> pd.DataFrame:
        def fetch() -> pd.DataFrame:
            try:
                return self._fetcher.history(symbol, start, end, interval)
            except Exception as exc:
                raise _mapped(symbol, exc) from exc

        frame = await self._guard.call(fetch)
        if frame is None or frame.empty:
            raise SymbolNotFound(symbol)
        return _normalised(frame)

    async def quote(self, symbol: str) -> Quote:
        today = self.today()
        frame = await self._frame(symbol, today - timedelta(days=10), today, "1d")
        last = frame.iloc[-1]
        stamp = pd.Timestamp(frame.index[-1])
        as_of = stamp.to_pydatetime() if stamp.tzinfo else stamp.tz_localize("UTC").to_pydatetime()
        return Quote(
            symbol=symbol,
            price=float(last["close"]),
            previous_close=float(frame["close"].iloc[-2]) if len(frame) > 1 else None,
            open=float(last["open"]),
            day_high=float(last["high"]),
            day_low=float(last["low"]),
            volume=int(last["volume"]),
            as_of=as_of,
            source=self.name,
        )

    async def history(self, symbol: str, start: date, end: date, interval: Interval) -> History:
        frame = await self._frame(symbol, start, end, interval)
        frame.index = pd.DatetimeIndex([pd.Timestamp(day).date() for day in frame.index])
        return History(
            symbol=symbol, interval=interval, bars=bars_from_frame(frame), source=self.name
        )

    async def profile(self, symbol: str) -> Profile:
        def fetch() -> dict[str, Any] | None:
            try:
                return self._fetcher.info(symbol)
            except Exception as exc:
                raise _mapped(symbol, exc) from exc

        info = await self._guard.call(fetch)
        name = (info or {}).get("longName") or (info or {}).get("shortName")
        if not info or not name:
            raise SymbolNotFound(symbol)
        return Profile(
            symbol=symbol,
            name=str(name),
            exchange=info.get("exchange"),
            currency=str(info.get("currency") or "USD"),
            sector=info.get("sector"),
            industry=info.get("industry"),
            website=info.get("website"),
            summary=info.get("longBusinessSummary"),
            source=self.name,
        )

    def close(self) -> None:
        self._guard.close()


def _mapped(symbol: str, exc: Exception) -> Exception:
    if isinstance(exc, SymbolNotFound | ProviderUnavailable | TransientProviderError):
        return exc
    if "TickerMissing" in type(exc).__name__ or "PricesMissing" in type(exc).__name__:
        return SymbolNotFound(symbol)
    if is_transient(exc):
        return TransientProviderError(f"{type(exc).__name__}: {exc}")
    return ProviderUnavailable("yfinance", f"{type(exc).__name__}: {exc}")


def _normalised(frame: pd.DataFrame) -> pd.DataFrame:
    renamed = frame.rename(columns=lambda name: str(name).lower().replace(" ", "_"))
    if "adj_close" not in renamed:
        renamed["adj_close"] = renamed["close"]
    return renamed.dropna(subset=["close"])
