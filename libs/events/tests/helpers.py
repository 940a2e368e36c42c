"""Test helpers shared by the unit, contract and integration tests."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from marketscope_events import CATALOG, Envelope
from marketscope_events.catalog import QuoteUpdated


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def quote_event(symbol: str = "AAPL", price: str = "187.25", **envelope: Any) -> Envelope:
    return CATALOG.new_event(
        QuoteUpdated(
            symbol=symbol,
            price=Decimal(price),
            previous_price=Decimal("180.00"),
            change=Decimal(price) - Decimal("180.00"),
            change_percent=None,
            as_of=datetime(2013, 3, 1, 21, 0, tzinfo=UTC),
            provider="replay",
        ),
        subject=f"Quote#{symbol}",
        **envelope,
    )


async def receive_all(sqs: Any, queue_url: str, *, wait: int = 1) -> list[dict[str, Any]]:
    """Drain what is visible now (long polls until an empty receive)."""
    messages: list[dict[str, Any]] = []
    while True:
        response = await sqs.receive_message(
            QueueUrl=queue_url,
            MaxNumberOfMessages=10,
            WaitTimeSeconds=wait,
            MessageAttributeNames=["All"],
        )
        batch = response.get("Messages", [])
        if not batch:
            return messages
        messages.extend(batch)
