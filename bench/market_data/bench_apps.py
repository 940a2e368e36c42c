"""The two apps the benchmark serves under identical uvicorn settings.

``market_data`` is the real service app (``create_app``) whose provider chain is the
replay provider behind a call counter, so the run can read how many origin calls the
cache let through (``GET /bench/origin-calls``). For the Zipf phase its universe has 50
symbols: the replay tickers, plus aliases ``B00``..``B49`` that each serve the real
series of one replay ticker (the cache sees 50 distinct keys; no price is invented).
``hello`` is a bare FastAPI app with one JSON endpoint.
"""

from __future__ import annotations

from collections import Counter
from datetime import date

from fastapi import FastAPI

from marketscope_market_data.main import create_app
from marketscope_market_data.providers import MarketDataProvider
from marketscope_market_data.providers.replay import ReplayProvider
from marketscope_market_data.schemas import History, Interval, Profile, Quote
from marketscope_market_data.settings import Settings

REAL = ("AAPL", "GOOG", "IBM", "MSFT")


def alias_of(symbol: str) -> str:
    if symbol.startswith("B") and symbol[1:].isdigit():
        return REAL[int(symbol[1:]) % len(REAL)]
    return symbol


class CountingAliasProvider(MarketDataProvider):
    name = "replay"

    def __init__(self, inner: ReplayProvider) -> None:
        self._inner = inner
        self.calls: Counter[str] = Counter()

    def today(self) -> date:
        return self._inner.today()

    async def quote(self, symbol: str) -> Quote:
        self.calls[f"quote:{symbol}"] += 1
        quote = await self._inner.quote(alias_of(symbol))
        return quote.model_copy(update={"symbol": symbol})

    async def history(self, symbol: str, start: date, end: date, interval: Interval) -> History:
        self.calls[f"history:{symbol}"] += 1
        history = await self._inner.history(alias_of(symbol), start, end, interval)
        return history.model_copy(update={"symbol": symbol})

    async def profile(self, symbol: str) -> Profile:
        self.calls[f"profile:{symbol}"] += 1
        return await self._inner.profile(alias_of(symbol))


def market_data() -> FastAPI:
    settings = Settings(embedded_scheduler=False, live_refresh=False)
    provider = CountingAliasProvider(ReplayProvider.from_package_data(settings.replay_start))
    app = create_app(settings, providers=[provider])

    @app.get("/bench/origin-calls", include_in_schema=False)
    async def origin_calls() -> dict[str, int]:
        return dict(provider.calls)

    return app


def hello() -> FastAPI:
    app = FastAPI()

    @app.get("/hello")
    async def say_hello() -> dict[str, str]:
        return {"message": "hello"}

    return app
