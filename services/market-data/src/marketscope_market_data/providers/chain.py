"""The ordered fallback chain: ask each configured provider in turn until one answers.

A provider that does not know a symbol or cannot answer now hands over to the next. The
answer names the provider that served it (``source``). When none answers: 404 if every
provider said the symbol is unknown, else 503 (an unavailable provider might know it).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TypeVar

from marketscope_market_data.errors import ProviderUnavailable, SymbolNotFound
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
            return await provider.history(symbol, start, end, interval)

        return await self._first(symbol, "history", ask)

    async def _first(
        self,
        symbol: str,
        operation: str,
        ask: Callable[[MarketDataProvider], Awaitable[T]],
    ) -> T:
        unavailable: list[ProviderUnavailable] = []
        for provider in self.providers:
            started = self._timer()
            try:
                answer = await ask(provider)
            except SymbolNotFound:
                self._record(provider.name, operation, started, "not_found")
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
            retry_after = min(exc.retry_after for exc in unavailable)
            detail = "; ".join(str(exc.detail) for exc in unavailable)
            raise ProviderUnavailable(",".join(self.names), detail, retry_after=retry_after)
        raise SymbolNotFound(symbol)

    def _record(self, provider: str, operation: str, started: float, outcome: str) -> None:
        self._metrics.record(
            "ProviderLatency",
            (self._timer() - started) * 1000.0,
            unit="Milliseconds",
            dimensions={"Provider": provider, "Operation": operation, "Outcome": outcome},
        )
