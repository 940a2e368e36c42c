"""The market-data errors; each becomes a problem+json response.

Each derives from one of servicekit's shared kinds (its status), keeping its own problem
type where clients tell the failures apart (an unknown symbol from an unknown route).
Invalid parameters are servicekit's `InvalidRequest` itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import ClassVar, Literal

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

    @classmethod
    def outside(cls, symbol: str, listed: Sequence[str]) -> SymbolNotFound:
        """Unknown to providers whose symbols are a closed list (the offline replay): the
        detail names the list, and ``known_symbols`` carries it, so a client can offer
        them instead of leaving the user to guess."""
        error = cls(symbol, f"No market data is known for {symbol!r}; {_covered(listed)}")
        error.extensions["known_symbols"] = list(listed)
        return error


class HistoryOutOfRange(SymbolNotFound):
    """A known symbol without bars in the asked range: the range ends before its data
    begins (``boundary`` is its first day) or begins after its data ends (``boundary`` is
    its last day so far; for a replay, at most the clock's day)."""

    title: ClassVar[str | None] = "No data in the range"
    type: ClassVar[str] = problem_type("history-out-of-range")

    def __init__(
        self,
        symbol: str,
        *,
        position: Literal["before-data", "after-data"],
        start: date,
        end: date,
        boundary: date,
    ) -> None:
        asked = f"{start.isoformat()}..{end.isoformat()}"
        if position == "before-data":
            detail = f"the range {asked} ends before {symbol}'s data begins on {boundary}."
            edge = "data_begins"
        else:
            detail = f"the range {asked} begins after {symbol}'s data ends on {boundary}."
            edge = "data_ends"
        super().__init__(symbol, f"No bars: {detail}")
        self.position = position
        self.extensions.update(
            {
                "position": position,
                "start": start.isoformat(),
                "end": end.isoformat(),
                edge: boundary.isoformat(),
            }
        )


class UnknownSymbols(InvalidRequest, MarketDataError):
    """Symbols no provider knows, in a request that would keep them (a watchlist)."""

    title: ClassVar[str | None] = "Unknown symbols"
    type: ClassVar[str] = problem_type("unknown-symbols")

    def __init__(self, unknown: Sequence[str], listed: Sequence[str] | None = None) -> None:
        """``listed``: every symbol there is data for, when the providers' symbols are a
        closed list (then named in the detail and carried as ``known_symbols``)."""
        detail = f"No market data is known for {', '.join(unknown)}"
        extensions: dict[str, object] = {"unknown": list(unknown)}
        if listed is not None:
            extensions["known_symbols"] = list(listed)
        ending = "." if listed is None else f"; {_covered(listed)}"
        super().__init__(detail + ending, extensions=extensions)
        self.unknown = list(unknown)


def _covered(listed: Sequence[str]) -> str:
    return f"the market data here covers only {', '.join(listed)}."


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
