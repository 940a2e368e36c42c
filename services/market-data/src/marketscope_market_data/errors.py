"""The market-data errors; each becomes a problem+json response."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from marketscope_servicekit import ServiceError


class MarketDataError(ServiceError):
    """Base of the service's own errors."""

    type: ClassVar[str] = "urn:marketscope:problem:market-data"


class SymbolNotFound(MarketDataError):
    status: ClassVar[int] = 404
    title: ClassVar[str | None] = "Unknown symbol"
    type: ClassVar[str] = "urn:marketscope:problem:symbol-not-found"

    def __init__(self, symbol: str, detail: str | None = None) -> None:
        super().__init__(
            detail or f"No market data is known for {symbol!r}.", extensions={"symbol": symbol}
        )
        self.symbol = symbol


class ProviderUnavailable(MarketDataError):
    status: ClassVar[int] = 503
    title: ClassVar[str | None] = "Market data provider unavailable"
    type: ClassVar[str] = "urn:marketscope:problem:provider-unavailable"

    def __init__(self, provider: str, detail: str, *, retry_after: int = 30) -> None:
        super().__init__(
            f"{provider}: {detail}",
            extensions={"provider": provider},
            headers={"Retry-After": str(retry_after)},
        )
        self.provider = provider
        self.retry_after = retry_after


class InvalidRequest(MarketDataError):
    status: ClassVar[int] = 422
    title: ClassVar[str | None] = "Invalid request"
    type: ClassVar[str] = "urn:marketscope:problem:invalid-request"

    def __init__(self, detail: str, *, allowed: Sequence[str] | None = None) -> None:
        super().__init__(detail, extensions={"allowed": list(allowed)} if allowed else None)


class NotEnoughData(MarketDataError):
    status: ClassVar[int] = 422
    title: ClassVar[str | None] = "Not enough data"
    type: ClassVar[str] = "urn:marketscope:problem:not-enough-data"


class WatchlistForbidden(MarketDataError):
    status: ClassVar[int] = 403
    title: ClassVar[str | None] = "Forbidden"
    type: ClassVar[str] = "urn:marketscope:problem:forbidden"


class StoreUnavailable(MarketDataError):
    status: ClassVar[int] = 503
    title: ClassVar[str | None] = "Storage unavailable"
    type: ClassVar[str] = "urn:marketscope:problem:store-unavailable"
