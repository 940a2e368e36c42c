"""Which symbols the provider chain has data for, asked once and remembered.

A watchlist keeps its symbols for every later refresh, so its writes are checked here.
The replay answers from its dataset; yfinance by the cheapest call that proves a symbol
(the quote's 10-day chart), so answers are cached in-process: a known symbol for a day,
an unknown one for an hour (symbols list and delist; a repeated typo costs no call).
When a provider cannot tell now (offline, breaker open), nothing is remembered and the
caller gets ``ProviderUnavailable``: an unchecked symbol is never taken as known.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence

from cachetools import TTLCache

from marketscope_market_data.errors import ProviderUnavailable
from marketscope_market_data.providers.chain import ProviderChain

KNOWN_SECONDS = 86_400.0
UNKNOWN_SECONDS = 3_600.0
MAX_REMEMBERED = 10_000
# Checks running at once: a 100-symbol watchlist does not queue 100 calls on the provider.
MAX_CONCURRENT_CHECKS = 8


class SymbolDirectory:
    def __init__(
        self,
        chain: ProviderChain,
        *,
        known_seconds: float = KNOWN_SECONDS,
        unknown_seconds: float = UNKNOWN_SECONDS,
        timer: Callable[[], float] = time.monotonic,
    ) -> None:
        self._chain = chain
        self._known: TTLCache[str, bool] = TTLCache(MAX_REMEMBERED, known_seconds, timer=timer)
        self._unknown: TTLCache[str, bool] = TTLCache(MAX_REMEMBERED, unknown_seconds, timer=timer)
        self._checks = asyncio.Semaphore(MAX_CONCURRENT_CHECKS)

    async def unknown(self, symbols: Sequence[str]) -> list[str]:
        """The symbols of ``symbols`` no provider has data for, in their order."""
        answers = await asyncio.gather(
            *(self._knows(symbol) for symbol in symbols), return_exceptions=True
        )
        for answer in answers:
            if isinstance(answer, BaseException):
                raise answer
        return [symbol for symbol, known in zip(symbols, answers, strict=True) if not known]

    async def _knows(self, symbol: str) -> bool:
        if symbol in self._known:
            return True
        if symbol in self._unknown:
            return False
        async with self._checks:
            try:
                known = await self._chain.knows(symbol)
            except ProviderUnavailable as exc:
                raise ProviderUnavailable(
                    exc.provider,
                    f"cannot check {symbol} now ({exc.detail})",
                    retry_after=exc.retry_after,
                ) from exc
        (self._known if known else self._unknown)[symbol] = True
        return known
