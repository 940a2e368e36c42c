"""The consumers' QuoteUpdated handlers: the first refuses poison, the fixed one takes it.

Both do their side effect as one conditional write to the ledger, in one transaction with
the completion of the message's idempotency record. A ledger that already holds the
event means the handler ran a second time for it: the attempt is counted on the ledger
item, and the handler returns (the side effect is there, and failing would only bring
the message back).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from ledger import Ledger, LedgerUnavailable
from quotes import ACCEPTED_PROVIDERS

from marketscope_events import TerminalHandlerError, TransientHandlerError, current_handling
from marketscope_events.catalog import DecodedEvent

logger = logging.getLogger("chaos.handlers")

QuoteHandler = Callable[[DecodedEvent[Any]], Awaitable[None]]
STRICT, FIXED = "strict", "fixed"


def quote_handler(ledger: Ledger, mode: str) -> QuoteHandler:
    async def handle(event: DecodedEvent[Any]) -> None:
        provider = str(event.data.provider)
        if mode == STRICT and provider not in ACCEPTED_PROVIDERS:
            raise TerminalHandlerError(
                f"provider {provider!r} is not one {ledger.consumer} accepts "
                f"({', '.join(sorted(ACCEPTED_PROVIDERS))})"
            )
        detail = {"symbol": str(event.data.symbol), "provider": provider, "handler": mode}
        try:
            duplicate = await ledger.record(event.envelope.id, detail, current_handling())
        except LedgerUnavailable as exc:
            raise TransientHandlerError(f"ledger write failed: {exc}") from exc
        if duplicate is not None:
            logger.error(
                "side effect attempted again: %s for %s (first written by %s)",
                duplicate.event_id,
                duplicate.consumer,
                duplicate.first_writer,
            )

    return handle
