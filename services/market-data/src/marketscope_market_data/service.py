"""The market-data domain: quotes, history, indicators, risk, profiles, watchlists and the
refresh, over the provider chain, the tiered cache and the quote streams (no HTTP here)."""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial

from cachetools import LRUCache

from marketscope_events import EventsError
from marketscope_market_data.analytics.reports import (
    indicator_report,
    portfolio_report,
    risk_report,
)
from marketscope_market_data.cache import Cached, TieredCache
from marketscope_market_data.errors import MarketDataError, SymbolNotFound, UnknownSymbols
from marketscope_market_data.providers import DateSpan, ProviderChain
from marketscope_market_data.providers.directory import SymbolDirectory
from marketscope_market_data.schemas import (
    History,
    HistoryResponse,
    IndicatorName,
    IndicatorsResponse,
    Interval,
    PortfolioRiskResponse,
    Profile,
    ProfileResponse,
    Quote,
    QuoteBatch,
    QuoteResponse,
    RefreshSummary,
    RiskResponse,
    SymbolError,
    Watchlist,
)
from marketscope_market_data.store import QuoteRecorder, WatchlistRepository
from marketscope_servicekit import InvalidRequest

logger = logging.getLogger(__name__)


def _bars_of(history: HistoryResponse) -> tuple[object, ...]:
    """What identifies a history's bars: a new or revised last bar (a live price moving
    today's close) or another span makes another key."""
    last = history.bars[-1] if history.bars else None
    return (
        history.symbol,
        len(history.bars),
        history.start,
        None if last is None else (last.date, last.close, last.adj_close, last.volume),
        history.stale,
    )


MAX_BATCH = 50
MAX_RISK_SYMBOLS = 20
MAX_PORTFOLIO_SYMBOLS = 25
WEIGHT_SUM_TOLERANCE = 1e-6
# Two years of daily bars: enough for SMA 200 and a cross of SMA 50 over it.
INDICATOR_SPAN = DateSpan(period="2y")


@dataclass(frozen=True)
class CachePolicy:
    quote_seconds: int
    history_seconds: int


def quote_response(quote: Quote, *, stale: bool) -> QuoteResponse:
    change = None if quote.previous_close is None else quote.price - quote.previous_close
    percent = (
        None
        if change is None or not quote.previous_close
        else round(change / quote.previous_close * 100, 4)
    )
    return QuoteResponse(
        **quote.model_dump(exclude={"stale"}),
        change=None if change is None else round(change, 6),
        change_percent=percent,
        stale=stale or quote.stale,
    )


def portfolio_weights(symbols: Sequence[str], weights: Sequence[float] | None) -> list[float]:
    """The weights a portfolio of ``symbols`` is held at: one per symbol, each from 0 to
    1, summing to 1; equal when none are given."""
    if not symbols or len(symbols) > MAX_PORTFOLIO_SYMBOLS:
        raise InvalidRequest(f"Give 1 to {MAX_PORTFOLIO_SYMBOLS} symbols for a portfolio.")
    repeated = sorted({s for s in symbols if symbols.count(s) > 1})
    if repeated:
        raise InvalidRequest(
            f"Each symbol may appear once in a portfolio; repeated: {', '.join(repeated)}.",
            extensions={"repeated": repeated},
        )
    if weights is None:
        return [1.0 / len(symbols)] * len(symbols)
    if len(weights) != len(symbols):
        raise InvalidRequest(
            f"Give one weight per symbol: {len(symbols)} symbols, {len(weights)} weights."
        )
    out_of_range = [w for w in weights if not (math.isfinite(w) and 0.0 <= w <= 1.0)]
    if out_of_range:
        raise InvalidRequest(
            f"Each weight is a number from 0 to 1; not: {', '.join(repr(w) for w in out_of_range)}."
        )
    total = math.fsum(weights)
    if abs(total - 1.0) > WEIGHT_SUM_TOLERANCE:
        raise InvalidRequest(
            f"The weights sum to {total:.9g}; they must sum to 1 "
            f"(within {WEIGHT_SUM_TOLERANCE:g}).",
            extensions={"weights_sum": total},
        )
    return list(weights)


class MarketDataService:
    def __init__(
        self,
        chain: ProviderChain,
        cache: TieredCache,
        recorder: QuoteRecorder,
        watchlists: WatchlistRepository,
        policy: CachePolicy,
        *,
        benchmark: str,
        risk_free_rate: float,
        default_watchlist: Sequence[str],
        directory: SymbolDirectory | None = None,
    ) -> None:
        self.chain = chain
        self.directory = directory or SymbolDirectory(chain)
        self.cache = cache
        self.recorder = recorder
        self.watchlists = watchlists
        self._policy = policy
        self.benchmark = benchmark
        self._risk_free_rate = risk_free_rate
        self.default_watchlist = list(default_watchlist)
        self._rendered: LRUCache[str, tuple[Quote, bool, bytes]] = LRUCache(maxsize=4096)
        # Reports computed from the very same bars answer again without pandas: a
        # popular symbol's indicators are asked for by every user and every chat turn.
        self._reports: LRUCache[
            tuple[object, ...], IndicatorsResponse | RiskResponse | PortfolioRiskResponse
        ] = LRUCache(maxsize=2048)
        # Per symbol, interval and span: the cache key of its latest history.
        self._history_keys: LRUCache[str, str] = LRUCache(maxsize=4096)

    # ------------------------------------------------------------------ quotes

    async def _cached_quote(self, symbol: str) -> Cached[Quote]:
        async def fetch() -> Quote:
            quote = await self.chain.quote(symbol)
            await self._observe(quote)
            return quote

        return await self.cache.get_or_fetch(
            f"quote:{symbol}",
            Quote,
            self._policy.quote_seconds,
            fetch,
            current=self.chain.is_current,
        )

    async def quote(self, symbol: str) -> QuoteResponse:
        cached = await self._cached_quote(symbol)
        return quote_response(cached.value, stale=cached.stale)

    async def quote_json(self, symbol: str) -> bytes:
        """The quote response as JSON, rendered once per cached value: the hot path of
        the most frequent request."""
        cached = await self._cached_quote(symbol)
        rendered = self._rendered.get(symbol)
        if rendered is not None and rendered[0] is cached.value and rendered[1] == cached.stale:
            return rendered[2]
        body = quote_response(cached.value, stale=cached.stale).model_dump_json().encode()
        self._rendered[symbol] = (cached.value, cached.stale, body)
        return body

    async def quotes(self, symbols: Sequence[str]) -> QuoteBatch:
        unique = list(dict.fromkeys(symbols))
        if not unique or len(unique) > MAX_BATCH:
            raise InvalidRequest(f"Ask for 1 to {MAX_BATCH} symbols at once.")
        results = await asyncio.gather(
            *(self.quote(symbol) for symbol in unique), return_exceptions=True
        )
        quotes, errors = [], []
        for symbol, result in zip(unique, results, strict=True):
            if isinstance(result, MarketDataError):
                known = result.extensions.get("known_symbols")
                errors.append(
                    SymbolError(
                        symbol=symbol,
                        status=result.status,
                        detail=str(result),
                        known_symbols=known,
                    )
                )
            elif isinstance(result, BaseException):
                raise result
            else:
                quotes.append(result)
        return QuoteBatch(quotes=quotes, errors=errors)

    async def _observe(self, quote: Quote) -> bool:
        """Record a provider observation in its stream; True when the price changed."""
        try:
            return await self.recorder.record(quote) is not None
        except EventsError:
            # The answer is still right; the stream catches up on the next observation.
            logger.warning("quote not recorded", extra={"symbol": quote.symbol}, exc_info=True)
            return False

    # ------------------------------------------------------------------ history and analytics

    async def history(self, symbol: str, interval: Interval, span: DateSpan) -> HistoryResponse:
        today = self.chain.today()
        key = f"history:{symbol}:{interval}:{span.key(today)}"
        self._supersede(f"{symbol}:{interval}:{span}", key)
        cached = await self.cache.get_or_fetch(
            key,
            History,
            self._policy.history_seconds,
            lambda: self.chain.history(symbol, span, interval),
        )
        history = cached.value
        start, end = span.resolve(today)
        if history.bars:
            start, end = history.bars[0].date, history.bars[-1].date
        return HistoryResponse(**history.model_dump(), start=start, end=end, stale=cached.stale)

    def _supersede(self, span_of_symbol: str, key: str) -> None:
        """A span that ends today has a new key each day (each replayed day, every few
        seconds when replaying): the day before's copy is never asked for again, and
        would otherwise stay in memory until the cache's bound (10,000 histories)."""
        previous = self._history_keys.get(span_of_symbol)
        self._history_keys[span_of_symbol] = key
        if previous is not None and previous != key:
            self.cache.forget(previous)

    async def indicators(self, symbol: str, names: Sequence[IndicatorName]) -> IndicatorsResponse:
        history = await self.history(symbol, "1d", INDICATOR_SPAN)
        key = ("indicators", tuple(names), _bars_of(history))
        report = self._reports.get(key)
        if not isinstance(report, IndicatorsResponse):
            # Tens of milliseconds of pandas: off the event loop, so concurrent requests
            # (a chat tool round asks for several at once) are not served one by one.
            report = await asyncio.to_thread(indicator_report, history, names)
            self._reports[key] = report
        return report

    async def risk(
        self, symbols: Sequence[str], benchmark: str | None, span: DateSpan
    ) -> RiskResponse:
        unique = list(dict.fromkeys(symbols))
        if not unique or len(unique) > MAX_RISK_SYMBOLS:
            raise InvalidRequest(f"Ask for 1 to {MAX_RISK_SYMBOLS} symbols at once.")
        wanted = [*unique, *([benchmark] if benchmark else [])]
        histories = await asyncio.gather(*(self.history(s, "1d", span) for s in wanted))
        key = ("risk", benchmark, *(_bars_of(history) for history in histories))
        report = self._reports.get(key)
        if not isinstance(report, RiskResponse):
            report = await asyncio.to_thread(
                partial(risk_report, risk_free_rate=self._risk_free_rate),
                histories[: len(unique)],
                histories[-1] if benchmark else None,
            )
            self._reports[key] = report
        return report

    async def portfolio_risk(
        self,
        symbols: Sequence[str],
        weights: Sequence[float] | None,
        benchmark: str | None,
        span: DateSpan,
    ) -> PortfolioRiskResponse:
        """Risk of ``symbols`` held at ``weights`` (equal without), rebalanced daily."""
        used = portfolio_weights(symbols, weights)
        wanted = [*symbols, *([benchmark] if benchmark else [])]
        histories = await asyncio.gather(*(self.history(s, "1d", span) for s in wanted))
        key = ("portfolio", tuple(used), benchmark, *(_bars_of(h) for h in histories))
        report = self._reports.get(key)
        if not isinstance(report, PortfolioRiskResponse):
            report = await asyncio.to_thread(
                partial(portfolio_report, risk_free_rate=self._risk_free_rate),
                histories[: len(symbols)],
                used,
                histories[-1] if benchmark else None,
            )
            self._reports[key] = report
        return report

    async def profile(self, symbol: str) -> ProfileResponse:
        cached = await self.cache.get_or_fetch(
            f"profile:{symbol}",
            Profile,
            self._policy.history_seconds,
            lambda: self.chain.profile(symbol),
        )
        return ProfileResponse(**cached.value.model_dump(), stale=cached.stale)

    # ------------------------------------------------------------------ watchlists

    async def watchlist(self, owner: str) -> Watchlist:
        found = await self.watchlists.get(owner)
        return found or Watchlist(owner=owner, symbols=[], updated_at=None)

    async def save_watchlist(self, owner: str, symbols: Sequence[str]) -> Watchlist:
        """Replace the owner's watchlist; a symbol no provider knows is refused (it would
        be asked for on every refresh)."""
        unique = list(dict.fromkeys(symbols))
        unknown = await self.directory.unknown(unique)
        if unknown:
            raise UnknownSymbols(unknown, self.chain.listed_symbols())
        return await self.watchlists.put(owner, unique)

    async def refresh_targets(self) -> list[str]:
        """The default watchlist and every symbol on any owner's watchlist."""
        watched = await self.watchlists.watched_symbols()
        return sorted(set(self.default_watchlist) | watched)

    # ------------------------------------------------------------------ refresh

    async def refresh(self, symbols: Sequence[str]) -> RefreshSummary:
        """Fetch each symbol from the providers (never the cache), record changes in the
        streams and write the fresh quotes through the cache. A symbol the providers have
        no data for is listed apart from the failures: it says nothing about their health."""
        outcomes = await asyncio.gather(
            *(self._refresh_one(s) for s in symbols), return_exceptions=True
        )
        failed: list[SymbolError] = []
        unknown: list[str] = []
        for symbol, outcome in zip(symbols, outcomes, strict=True):
            if isinstance(outcome, SymbolNotFound):
                unknown.append(symbol)
            elif isinstance(outcome, BaseException):
                status = getattr(outcome, "status", 500)
                failed.append(SymbolError(symbol=symbol, status=status, detail=str(outcome)))
        return RefreshSummary(
            symbols=len(symbols),
            refreshed=len(symbols) - len(failed) - len(unknown),
            changed=sum(1 for outcome in outcomes if outcome is True),
            failed=failed,
            unknown=unknown,
        )

    async def _refresh_one(self, symbol: str) -> bool:
        quote = await self.chain.quote(symbol)
        changed = await self.recorder.record(quote) is not None
        await self.cache.put(f"quote:{symbol}", quote, self._policy.quote_seconds)
        return changed
