"""The ordered fallback chain: ask each configured provider in turn until one answers.

A provider that does not know a symbol or cannot answer now hands over to the next. The
answer names the provider that served it (``source``). When none answers: 404 if every
provider said the symbol is unknown (with the most specific reason one gave, such as a
range outside its data), else 503 (an unavailable provider might know it).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TypeVar

from marketscope_market_data.errors import HistoryOutOfRange, ProviderUnavailable, SymbolNotFound
from marketscope_market_data.providers.base import MarketDataProvider
from marketscope_market_data.schemas import History, Interval, Period, Profile, Quote
from marketscope_servicekit import MetricsRecorder

T = TypeVar("T")
logger = logging.getLogger(__name__)

_PERIOD_DAYS = {"1mo": 31, "3mo": 92, "6mo": 183, "1y": 366, "2y": 731, "5y": 1827, "10y": 3653}


@dataclass(frozen=True)
class DateSpan:
    """Either an explicit range or a period ending on the provider's today."""

    start: date | None = None
    end: date | None = None
    period: Period | None = None

    def resolve(self, today: date) -> tuple[date, date]:
        end = min(self.end or today, today)
        if self.period == "max":
            return date(1900, 1, 1), end
        if self.period == "ytd":
            return date(end.year, 1, 1), end
        if self.period is not None:
            return end - timedelta(days=_PERIOD_DAYS[self.period]), end
        return self.start or end - timedelta(days=_PERIOD_DAYS["1y"]), end

    def key(self, today: date) -> str:
        start, end = self.resolve(today)
        return f"{start.isoformat()}:{end.isoformat()}"


class ProviderChain:
    def __init__(
        self,
        providers: Sequence[MarketDataProvider],
        metrics: MetricsRecorder,
        *,
        timer: Callable[[], float] = time.perf_counter,
    ) -> None:
        if not providers:
            raise ValueError("at least one provider is needed")
        self.providers = list(providers)
        self._metrics = metrics
        self._timer = timer

    @property
    def names(self) -> list[str]:
        return [provider.name for provider in self.providers]

    def today(self) -> date:
        return self.providers[0].today()

    async def quote(self, symbol: str) -> Quote:
        return await self._first(symbol, "quote", lambda p: p.quote(symbol))

    async def profile(self, symbol: str) -> Profile:
        return await self._first(symbol, "profile", lambda p: p.profile(symbol))

    async def history(self, symbol: str, span: DateSpan, interval: Interval) -> History:
        async def ask(provider: MarketDataProvider) -> History:
            start, end = span.resolve(provider.today())
            if start > end:
                # Only an explicit start gets past the provider's today (the API refuses
                # a start after the end it is given).
                raise HistoryOutOfRange(
                    symbol, position="after-data", start=start, end=span.end or end, boundary=end
                )
            return await provider.history(symbol, start, end, interval)

        return await self._first(symbol, "history", ask)

    async def knows(self, symbol: str) -> bool:
        """Whether any provider has data for ``symbol``. ``ProviderUnavailable`` when none
        said yes and one could not tell: an unavailable provider might know it."""
        unavailable: list[ProviderUnavailable] = []
        for provider in self.providers:
            try:
                if await provider.knows(symbol):
                    return True
            except ProviderUnavailable as exc:
                unavailable.append(exc)
        if unavailable:
            raise _joined(self.names, unavailable)
        return False

    def listed_symbols(self) -> list[str] | None:
        """Every symbol the chain has data for, when each provider's is a closed list (the
        offline default, the replay alone); None when any provider can look up more."""
        listed: set[str] = set()
        for provider in self.providers:
            symbols = provider.listed_symbols()
            if symbols is None:
                return None
            listed.update(symbols)
        return sorted(listed)

    def is_current(self, quote: Quote) -> bool:
        """Whether the provider that served ``quote`` would still answer it."""
        provider = next((p for p in self.providers if p.name == quote.source), None)
        return provider is None or provider.is_current(quote)

    async def _first(
        self,
        symbol: str,
        operation: str,
        ask: Callable[[MarketDataProvider], Awaitable[T]],
    ) -> T:
        unavailable: list[ProviderUnavailable] = []
        not_found: list[SymbolNotFound] = []
        for provider in self.providers:
            started = self._timer()
            try:
                answer = await ask(provider)
            except SymbolNotFound as exc:
                self._record(provider.name, operation, started, "not_found")
                not_found.append(exc)
                continue
            except ProviderUnavailable as exc:
                self._record(provider.name, operation, started, "unavailable")
                logger.warning(
                    "provider failed, trying the next",
                    extra={"provider": provider.name, "symbol": symbol, "reason": exc.detail},
                )
                unavailable.append(exc)
                continue
            self._record(provider.name, operation, started, "ok")
            return answer
        if unavailable:
            raise _joined(self.names, unavailable)
        raise _most_specific(symbol, not_found, self.listed_symbols())

    def _record(self, provider: str, operation: str, started: float, outcome: str) -> None:
        self._metrics.record(
            "ProviderLatency",
            (self._timer() - started) * 1000.0,
            unit="Milliseconds",
            dimensions={"Provider": provider, "Operation": operation, "Outcome": outcome},
        )


def _joined(
    names: Sequence[str], unavailable: Sequence[ProviderUnavailable]
) -> ProviderUnavailable:
    retry_after = min(exc.retry_after for exc in unavailable)
    detail = "; ".join(str(exc.detail) for exc in unavailable)
    return ProviderUnavailable(",".join(names), detail, retry_after=retry_after)


def _most_specific(
    symbol: str, not_found: Sequence[SymbolNotFound], listed: Sequence[str] | None
) -> SymbolNotFound:
    """A subclass (a range outside the data) before a reason of the provider's own before
    the plain "unknown symbol", which names the symbols there are when they are a closed
    list and this one is not on it."""
    generic = SymbolNotFound(symbol).detail
    ranked = sorted(not_found, key=lambda exc: (type(exc) is SymbolNotFound, exc.detail == generic))
    chosen = ranked[0] if ranked else SymbolNotFound(symbol)
    if listed is not None and symbol not in listed and chosen.detail == generic:
        return SymbolNotFound.outside(symbol, listed)
    return chosen
