"""Event-sourced quotes: each observed price change is appended to ``Quote#<SYMBOL>`` and
published as QuoteUpdated through the outbox; the current quote per symbol is a
projection of those streams (rebuildable with ``marketscope_events.replay``)."""

from __future__ import annotations

import logging
import re
from decimal import Decimal
from typing import Any

from marketscope_events import CATALOG, ConcurrencyError, DecodedEvent, Envelope, EventStore
from marketscope_events.catalog import QuoteUpdated
from marketscope_market_data.schemas import Quote

STREAM_PREFIX = "Quote#"
# The event catalog's symbol pattern: indices such as ^GSPC are quoted but not streamed.
_EVENT_SYMBOL = re.compile(r"^[A-Z0-9][A-Z0-9.\-^=]{0,14}$")
_APPEND_ATTEMPTS = 3
logger = logging.getLogger(__name__)


def stream_id(symbol: str) -> str:
    return STREAM_PREFIX + symbol


def _decimal(value: float) -> Decimal:
    # Via str: the provider's printed price, not the binary float's expansion.
    return Decimal(str(value))


class QuoteProjection:
    """The latest QuoteUpdated of each symbol and the stream version it is at."""

    def __init__(self) -> None:
        self._current: dict[str, tuple[int, QuoteUpdated]] = {}

    def reset(self) -> None:
        self._current.clear()

    async def apply(self, event: DecodedEvent[Any]) -> None:
        data = event.data
        if not isinstance(data, QuoteUpdated):
            return
        version = event.envelope.sequence or 0
        known = self._current.get(data.symbol)
        if known is None or version > known[0]:
            self._current[data.symbol] = (version, data)

    def current(self, symbol: str) -> QuoteUpdated | None:
        known = self._current.get(symbol)
        return None if known is None else known[1]

    def version(self, symbol: str) -> int:
        known = self._current.get(symbol)
        return 0 if known is None else known[0]

    def snapshot(self) -> dict[str, QuoteUpdated]:
        return {symbol: data for symbol, (_, data) in self._current.items()}


class QuoteRecorder:
    """Appends a QuoteUpdated when a symbol's price differs from its stream's last one."""

    def __init__(
        self,
        store: EventStore,
        projection: QuoteProjection,
    ) -> None:
        self._store = store
        self.projection = projection

    async def record(self, quote: Quote) -> Envelope | None:
        """The appended event, or None when the price is unchanged (or not streamable)."""
        if not _EVENT_SYMBOL.match(quote.symbol):
            return None
        stream = stream_id(quote.symbol)
        for _ in range(_APPEND_ATTEMPTS):
            version = await self._store.current_version(stream)
            await self._catch_up(quote.symbol, version)
            event = self._event_for(quote)
            if event is None:
                return None
            try:
                [stored] = await self._store.append(stream, [event], expected_version=version)
            except ConcurrencyError:
                continue  # another instance appended first: catch up and decide again
            await self.projection.apply(CATALOG.decode(stored))
            return stored
        raise ConcurrencyError(stream, self.projection.version(quote.symbol))

    async def _catch_up(self, symbol: str, version: int) -> None:
        known = self.projection.version(symbol)
        if version > known:
            for envelope in await self._store.read(stream_id(symbol), from_version=known + 1):
                await self.projection.apply(CATALOG.decode(envelope))

    def _event_for(self, quote: Quote) -> Envelope | None:
        price = _decimal(quote.price)
        current = self.projection.current(quote.symbol)
        if current is not None and current.price == price:
            return None
        if current is not None:
            previous: Decimal | None = current.price
        elif quote.previous_close is not None:
            previous = _decimal(quote.previous_close)
        else:
            previous = None
        change = None if previous is None else price - previous
        percent = (
            None
            if previous is None or change is None or previous == 0
            else (change / previous * 100).quantize(Decimal("0.0001"))
        )
        data = QuoteUpdated(
            symbol=quote.symbol,
            price=price,
            currency=quote.currency,
            previous_price=previous,
            change=change,
            change_percent=percent,
            as_of=quote.as_of,
            provider=quote.source,
        )
        return CATALOG.new_event(data, subject=stream_id(quote.symbol))
