"""The market-data errors; each becomes a problem+json response.

Each derives from one of servicekit's shared kinds (its status), keeping its own problem
type where clients tell the failures apart (an unknown symbol from an unknown route).
Invalid parameters are servicekit's `InvalidRequest` itself.
"""

from __future__ import annotations

from typing import ClassVar

from marketscope_servicekit import (
    DependencyUnavailable,
    Forbidden,
    InvalidRequest,
    NotFound,
    ServiceError,
    problem_type,
)


class MarketDataError(ServiceError):
    """Base of the service's own errors."""

    type: ClassVar[str] = problem_type("market-data")


class SymbolNotFound(NotFound, MarketDataError):
    title: ClassVar[str | None] = "Unknown symbol"
    type: ClassVar[str] = problem_type("symbol-not-found")

    def __init__(self, symbol: str, detail: str | None = None) -> None:
        super().__init__(
            detail or f"No market data is known for {symbol!r}.", extensions={"symbol": symbol}
        )
        self.symbol = symbol


class ProviderUnavailable(DependencyUnavailable, MarketDataError):
    title: ClassVar[str | None] = "Market data provider unavailable"
    type: ClassVar[str] = problem_type("provider-unavailable")

    def __init__(self, provider: str, detail: str, *, retry_after: int = 30) -> None:
        super().__init__(
            f"{provider}: {detail}", retry_after=retry_after, extensions={"provider": provider}
        )
        self.provider = provider
        self.retry_after = retry_after


class NotEnoughData(InvalidRequest, MarketDataError):
    title: ClassVar[str | None] = "Not enough data"
    type: ClassVar[str] = problem_type("not-enough-data")


class WatchlistForbidden(Forbidden, MarketDataError):
    """Another owner's watchlist, asked for by a user who is not an admin."""


class StoreUnavailable(DependencyUnavailable, MarketDataError):
    title: ClassVar[str | None] = "Storage unavailable"
    type: ClassVar[str] = problem_type("store-unavailable")
