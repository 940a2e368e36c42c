"""The QuoteUpdated events every phase sends."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from marketscope_events import CATALOG, Envelope
from marketscope_events.catalog import QuoteUpdated


def quote_event(symbol: str, tick: int) -> Envelope:
    price = Decimal("100.00") + Decimal(tick % 1000) / 100
    return CATALOG.new_event(
        QuoteUpdated(
            symbol=symbol,
            price=price,
            previous_price=Decimal("100.00"),
            change=price - Decimal("100.00"),
            change_percent=None,
            as_of=datetime.now(UTC),
            provider="bench",
        ),
        subject=f"Quote#{symbol}",
    )


class QuoteSource:
    """Quotes for a few symbols of its own (so appenders never race on a stream)."""

    def __init__(self, name: str, symbols: int) -> None:
        self._symbols = [f"{name}{index:02d}" for index in range(symbols)]
        self._ticks = 0

    def next_event(self) -> Envelope:
        self._ticks += 1
        return quote_event(self._symbols[self._ticks % len(self._symbols)], self._ticks)
