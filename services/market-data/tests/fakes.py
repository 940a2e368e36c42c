"""Test doubles of the provider port, and helpers shared by the tests."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, date, datetime

from marketscope_market_data.errors import ProviderUnavailable, SymbolNotFound
from marketscope_market_data.providers import MarketDataProvider
from marketscope_market_data.schemas import Bar, History, Interval, Profile, Quote


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


class FakeProvider(MarketDataProvider):
    """Serves set prices; can be told to fail, to not know a symbol, or to be slow."""

    def __init__(self, name: str = "fake", prices: dict[str, float] | None = None) -> None:
        self.name = name
        self.prices = dict(prices or {"AAPL": 100.0})
        self.calls: list[tuple[str, str]] = []
        self.down = False
        self.delay = 0.0

    async def _answer(self, operation: str, symbol: str) -> float:
        self.calls.append((operation, symbol))
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.down:
            raise ProviderUnavailable(self.name, "down for the test", retry_after=7)
        if symbol not in self.prices:
            raise SymbolNotFound(symbol)
        return self.prices[symbol]

    async def quote(self, symbol: str) -> Quote:
        price = await self._answer("quote", symbol)
        return Quote(
            symbol=symbol,
            price=price,
            previous_close=price - 1,
            as_of=datetime(2013, 3, 1, 21, tzinfo=UTC),
            source=self.name,
        )

    async def history(self, symbol: str, start: date, end: date, interval: Interval) -> History:
        price = await self._answer("history", symbol)
        bar = Bar(
            date=end, open=price, high=price, low=price, close=price, adj_close=price, volume=1
        )
        return History(symbol=symbol, interval=interval, bars=[bar], source=self.name)

    async def profile(self, symbol: str) -> Profile:
        await self._answer("profile", symbol)
        return Profile(symbol=symbol, name=f"{symbol} Inc.", source=self.name)


def unique_symbol() -> str:
    """A valid ticker no other test uses (cache items outlive a test on the emulator)."""
    return "Z" + uuid.uuid4().hex[:9].upper()
