"""HTTP layer of the market-data service: parses and checks requests, asks the service,
answers its models. Errors are problem+json (``marketscope_servicekit``); every route
needs the gateway-signed identity (checked by ``create_service_app``)."""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, Response

from marketscope_market_data.components import Components
from marketscope_market_data.errors import (
    ProviderUnavailable,
    SymbolNotFound,
    UnknownSymbols,
    WatchlistForbidden,
)
from marketscope_market_data.providers import DateSpan
from marketscope_market_data.schemas import (
    INDICATOR_NAMES,
    HistoryResponse,
    IndicatorName,
    IndicatorsResponse,
    Interval,
    Period,
    PortfolioRiskResponse,
    ProfileResponse,
    QuoteBatch,
    QuoteResponse,
    RiskResponse,
    Watchlist,
    WatchlistUpdate,
)
from marketscope_market_data.service import (
    MAX_PORTFOLIO_SYMBOLS,
    MAX_RISK_SYMBOLS,
    MarketDataService,
)
from marketscope_servicekit import Identity, InvalidRequest, components_of, current_identity
from marketscope_servicekit.openapi_problems import problem_responses

router = APIRouter(tags=["market-data"])

SYMBOL_PATTERN = r"^[A-Za-z0-9^][A-Za-z0-9.\-^=]{0,14}$"
_SYMBOL = re.compile(SYMBOL_PATTERN)


NOT_FOUND = "Unknown symbol, or no data in the asked range"
UNAVAILABLE = "Provider down, nothing cached; see Retry-After"
INVALID = "Invalid parameters; `allowed` lists accepted values"
MARKET = problem_responses(
    SymbolNotFound,
    ProviderUnavailable,
    InvalidRequest,
    descriptions={404: NOT_FOUND, 503: UNAVAILABLE, 422: INVALID},
)
BATCH = problem_responses(InvalidRequest, descriptions={422: INVALID})


def service(request: Request) -> MarketDataService:
    return components_of(request, Components).service


Service = Annotated[MarketDataService, Depends(service)]
# create_service_app checks the signed identity on every route; the watchlist routes
# read it (FastAPI resolves the dependency once per request).
Caller = Annotated[Identity, Depends(current_identity)]
SymbolPath = Annotated[str, Path(pattern=SYMBOL_PATTERN, description="Ticker, e.g. AAPL")]


def symbol_list(raw: str, *, limit: int) -> list[str]:
    symbols = [part.strip().upper() for part in raw.split(",") if part.strip()]
    bad = [symbol for symbol in symbols if not _SYMBOL.match(symbol)]
    if bad:
        raise InvalidRequest(f"Not ticker symbols: {', '.join(bad)}.")
    if not symbols or len(symbols) > limit:
        raise InvalidRequest(f"Give 1 to {limit} comma-separated symbols.")
    return symbols


def date_span(start: date | None, end: date | None, period: Period | None) -> DateSpan:
    if period is not None and start is not None:
        raise InvalidRequest("Give either period or start/end, not both.")
    if start is not None and end is not None and start > end:
        raise InvalidRequest(
            f"start {start.isoformat()} is after end {end.isoformat()}.",
            extensions={"start": start.isoformat(), "end": end.isoformat()},
        )
    return DateSpan(start=start, end=end, period=period)


@router.get("/quotes/{symbol}", response_model=QuoteResponse, responses=MARKET)
async def get_quote(symbol: SymbolPath, market: Service) -> Response:
    """The latest quote, from the cache or the first provider that answers."""
    return Response(await market.quote_json(symbol.upper()), media_type="application/json")


@router.get("/quotes", response_model=QuoteBatch, responses=BATCH)
async def get_quotes(
    market: Service,
    symbols: Annotated[str, Query(description="Comma-separated, up to 50: AAPL,MSFT")],
) -> QuoteBatch:
    """Quotes of several symbols; the ones that fail are listed in `errors`."""
    return await market.quotes(symbol_list(symbols, limit=50))


@router.get("/history/{symbol}", response_model=HistoryResponse, responses=MARKET)
async def get_history(
    symbol: SymbolPath,
    market: Service,
    interval: Annotated[Interval, Query(description="Bar length")] = "1d",
    start: date | None = None,
    end: date | None = None,
    period: Annotated[Period | None, Query(description="Instead of start/end")] = None,
) -> HistoryResponse:
    """OHLCV bars; without start or period, the last year."""
    return await market.history(symbol.upper(), interval, date_span(start, end, period))


@router.get("/indicators/{symbol}", response_model=IndicatorsResponse, responses=MARKET)
async def get_indicators(
    symbol: SymbolPath,
    market: Service,
    names: Annotated[
        str, Query(description=f"Comma-separated, from: {', '.join(INDICATOR_NAMES)}")
    ] = ",".join(INDICATOR_NAMES),
) -> IndicatorsResponse:
    """Latest indicator values over two years of daily bars (split-adjusted)."""
    wanted = [part.strip().lower() for part in names.split(",") if part.strip()]
    unknown = [name for name in wanted if name not in INDICATOR_NAMES]
    if unknown or not wanted:
        raise InvalidRequest(
            f"Unknown indicators: {', '.join(unknown) or '(none given)'}.", allowed=INDICATOR_NAMES
        )
    selected: list[IndicatorName] = [name for name in INDICATOR_NAMES if name in wanted]
    return await market.indicators(symbol.upper(), selected)


def risk_benchmark(raw: str | None, market: MarketDataService) -> str | None:
    """The benchmark asked for: the service's without one, none for `none` or empty."""
    chosen = market.benchmark if raw is None else raw.strip().upper()
    if chosen in ("NONE", ""):
        return None
    return symbol_list(chosen, limit=1)[0]


def risk_span(start: date | None, end: date | None, period: Period | None) -> DateSpan:
    """The span risk is measured over: the last year unless start or period say otherwise."""
    return date_span(start, end, period) if (start or end or period) else DateSpan(period="1y")


def weight_list(raw: str) -> list[float]:
    parts = [part.strip() for part in raw.split(",")]
    weights: list[float] = []
    bad: list[str] = []
    for part in parts:
        try:
            weights.append(float(part))
        except ValueError:
            bad.append(part or "(empty)")
    if bad:
        raise InvalidRequest(f"Weights are comma-separated numbers; not numbers: {', '.join(bad)}.")
    return weights


Benchmark = Annotated[
    str | None, Query(description="Beta benchmark; default ^GSPC, `none` for no beta")
]


@router.get("/risk", response_model=RiskResponse, responses=MARKET)
async def get_risk(
    market: Service,
    symbols: Annotated[str, Query(description="Comma-separated, up to 20")],
    benchmark: Benchmark = None,
    start: date | None = None,
    end: date | None = None,
    period: Period | None = None,
) -> RiskResponse:
    """Risk metrics of daily returns (the last year unless start or period say otherwise)."""
    chosen = risk_benchmark(benchmark, market)
    span = risk_span(start, end, period)
    return await market.risk(symbol_list(symbols, limit=MAX_RISK_SYMBOLS), chosen, span)


@router.get("/risk/portfolio", response_model=PortfolioRiskResponse, responses=MARKET)
async def get_portfolio_risk(
    market: Service,
    symbols: Annotated[
        str,
        Query(description=f"Comma-separated, each once, up to {MAX_PORTFOLIO_SYMBOLS}"),
    ],
    weights: Annotated[
        str | None,
        Query(
            description="Comma-separated, one per symbol, each from 0 to 1, summing to 1; "
            "equal weights without"
        ),
    ] = None,
    benchmark: Benchmark = None,
    start: date | None = None,
    end: date | None = None,
    period: Period | None = None,
) -> PortfolioRiskResponse:
    """Risk of a portfolio rebalanced daily to its weights: its own metrics, each symbol's,
    the diversification ratio and each symbol's share of the portfolio's variance (the
    last year unless start or period say otherwise)."""
    chosen = risk_benchmark(benchmark, market)
    span = risk_span(start, end, period)
    return await market.portfolio_risk(
        symbol_list(symbols, limit=MAX_PORTFOLIO_SYMBOLS),
        None if weights is None else weight_list(weights),
        chosen,
        span,
    )


@router.get("/profile/{symbol}", response_model=ProfileResponse, responses=MARKET)
async def get_profile(symbol: SymbolPath, market: Service) -> ProfileResponse:
    """Company profile: name, exchange, sector, industry."""
    return await market.profile(symbol.upper())


def _owner_allowed(owner: str, identity: Identity) -> None:
    if identity.user_id != owner and not identity.is_admin:
        raise WatchlistForbidden(f"{identity.user_id} may not access the watchlist of {owner}.")


OWN_WATCHLIST = {403: "Another owner's watchlist"}
CALLER = problem_responses(WatchlistForbidden, descriptions=OWN_WATCHLIST)


@router.get("/watchlists/{owner}", response_model=Watchlist, responses=CALLER)
async def get_watchlist(owner: str, market: Service, identity: Caller) -> Watchlist:
    """The owner's watchlist (empty when never saved). Own only, unless admin."""
    _owner_allowed(owner, identity)
    return await market.watchlist(owner)


WATCHLIST_WRITE = problem_responses(
    WatchlistForbidden,
    UnknownSymbols,
    ProviderUnavailable,
    descriptions={
        **OWN_WATCHLIST,
        422: "Invalid body, or symbols no provider knows (listed in `unknown`)",
        503: "A provider could not check a symbol now; see Retry-After",
    },
)


@router.put("/watchlists/{owner}", response_model=Watchlist, responses=WATCHLIST_WRITE)
async def put_watchlist(
    owner: str,
    update: WatchlistUpdate,
    market: Service,
    identity: Caller,
) -> Watchlist:
    """Replace the owner's watchlist; its symbols join the scheduled refresh. Every symbol
    must be known to a provider (422 lists the unknown ones)."""
    _owner_allowed(owner, identity)
    return await market.save_watchlist(owner, [symbol.upper() for symbol in update.symbols])
