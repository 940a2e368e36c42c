"""The QuoteUpdated events of a run, and which of them are poison.

A poison event is a well-formed QuoteUpdated (it decodes, upcasts and validates) whose
``provider`` the consumers' first handler does not accept: the handler refuses it with
`TerminalHandlerError`, as a service refuses data it cannot act on. The fixed handler of
the redrive phase accepts every provider.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from marketscope_events import CATALOG, Envelope
from marketscope_events.catalog import QuoteUpdated

ACCEPTED_PROVIDERS = frozenset({"replay", "yfinance"})
POISON_PROVIDER = "unlisted-feed"
SYMBOLS = 4  # per appender


def is_poison(sequence: int, poison_every: int) -> bool:
    """The ``sequence``-th event (from 1) of a run is poison every ``poison_every``."""
    return poison_every > 0 and sequence % poison_every == 0


def quote_event(sequence: int, poison_every: int, symbol: str) -> Envelope:
    price = Decimal("100.00") + Decimal(sequence % 1000) / 100
    previous = Decimal("100.00")
    return CATALOG.new_event(
        QuoteUpdated(
            symbol=symbol,
            price=price,
            previous_price=previous,
            change=price - previous,
            change_percent=None,
            as_of=datetime.now(UTC),
            provider=POISON_PROVIDER if is_poison(sequence, poison_every) else "replay",
        ),
        subject=f"Quote#{symbol}",
    )
