"""Market data routes: relayed to market-data with the caller's identity, plus the
composed stock overview."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Path, Query
from fastapi.responses import Response

from marketscope_gateway.api.deps import Caller, Gateway, relay, relayed
from marketscope_gateway.schemas import SYMBOL_PATTERN, StockOverview, WatchlistBody
from marketscope_servicekit import InvalidRequest, NotFound

router = APIRouter(prefix="/api/v1", tags=["market data"])
# market-data's answers, relayed: 404 for a symbol no provider knows (or no data in the
# asked range), 422 for values it cannot use (unknown watchlist symbols included).
SYMBOL_DATA = relayed(NotFound, descriptions={404: "Unknown symbol, or no data in the asked range"})
BATCH = relayed()
WATCHLIST = relayed(
    InvalidRequest, descriptions={422: "Invalid body, or symbols no provider knows (`unknown`)"}
)

SymbolPath = Annotated[str, Path(pattern=SYMBOL_PATTERN, examples=["AAPL"])]
SymbolList = Annotated[
    str,
    Query(
        pattern=r"^[A-Za-z0-9.\-^=]{1,15}(,[A-Za-z0-9.\-^=]{1,15}){0,49}$",
        description="Comma-separated symbols, at most 50",
        examples=["AAPL,MSFT"],
    ),
]
ShortWord = Annotated[str | None, Query(max_length=16, pattern=r"^[A-Za-z0-9_,]+$")]


@router.get("/quotes/{symbol}", response_model=None, responses=SYMBOL_DATA)
async def quote(symbol: SymbolPath, caller: Caller, gateway: Gateway) -> Response:
    return relay(await gateway.market_data.quote(caller.identity, symbol.upper()))


@router.get("/quotes", response_model=None, responses=BATCH)
async def quotes(symbols: SymbolList, caller: Caller, gateway: Gateway) -> Response:
    return relay(await gateway.market_data.quotes(caller.identity, symbols.upper()))


@router.get("/history/{symbol}", response_model=None, responses=SYMBOL_DATA)
async def history(
    symbol: SymbolPath,
    caller: Caller,
    gateway: Gateway,
    interval: ShortWord = None,
    period: ShortWord = None,
    start: date | None = None,
    end: date | None = None,
) -> Response:
    params = {
        "interval": interval,
        "period": period,
        "start": start.isoformat() if start else None,
        "end": end.isoformat() if end else None,
    }
    return relay(await gateway.market_data.history(caller.identity, symbol.upper(), params))


@router.get("/indicators/{symbol}", response_model=None, responses=SYMBOL_DATA)
async def indicators(
    symbol: SymbolPath,
    caller: Caller,
    gateway: Gateway,
    names: Annotated[str | None, Query(max_length=200, pattern=r"^[A-Za-z0-9_,]+$")] = None,
) -> Response:
    return relay(await gateway.market_data.indicators(caller.identity, symbol.upper(), names))


@router.get("/risk", response_model=None, responses=SYMBOL_DATA)
async def risk(
    symbols: SymbolList,
    caller: Caller,
    gateway: Gateway,
    benchmark: Annotated[str | None, Query(pattern=SYMBOL_PATTERN)] = None,
    period: ShortWord = None,
    start: date | None = None,
    end: date | None = None,
) -> Response:
    params = {
        "symbols": symbols.upper(),
        "benchmark": benchmark.upper() if benchmark else None,
        "period": period,
        "start": start.isoformat() if start else None,
        "end": end.isoformat() if end else None,
    }
    return relay(await gateway.market_data.risk(caller.identity, params))


@router.get("/profile/{symbol}", response_model=None, responses=SYMBOL_DATA)
async def profile(symbol: SymbolPath, caller: Caller, gateway: Gateway) -> Response:
    return relay(await gateway.market_data.profile(caller.identity, symbol.upper()))


@router.get("/watchlist", response_model=None, responses=BATCH)
async def watchlist(caller: Caller, gateway: Gateway) -> Response:
    """The caller's own watchlist."""
    return relay(await gateway.market_data.watchlist(caller.identity))


@router.put("/watchlist", response_model=None, responses=WATCHLIST)
async def save_watchlist(body: WatchlistBody, caller: Caller, gateway: Gateway) -> Response:
    symbols = [symbol.upper() for symbol in body.symbols]
    return relay(await gateway.market_data.save_watchlist(caller.identity, {"symbols": symbols}))


@router.get("/stocks/{symbol}/overview")
async def overview(symbol: SymbolPath, caller: Caller, gateway: Gateway) -> StockOverview:
    """Quote, six months of daily history, indicators and related documents at once. A
    part that fails is listed in ``errors``; the others are still returned."""
    return await gateway.overview.compose(caller.identity, symbol.upper())
