from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from marketscope_events import CATALOG
from marketscope_events.catalog import QuoteUpdatedV1, QuoteUpdatedV2, UpcasterChain
from marketscope_events.errors import UpcastError


def stored_v1(previous: str | None) -> QuoteUpdatedV1:
    return QuoteUpdatedV1(
        symbol="MSFT",
        price=Decimal("27.50"),
        previous_price=None if previous is None else Decimal(previous),
        as_of=datetime(2013, 3, 1, 21, tzinfo=UTC),
        source="replay",
    )


def test_v1_event_is_read_as_v2() -> None:
    stored = CATALOG.new_event(stored_v1("25.00"), subject="Quote#MSFT").with_sequence(3)
    assert stored.type.endswith("QuoteUpdated.v1")

    decoded = CATALOG.decode(stored)

    assert isinstance(decoded.data, QuoteUpdatedV2)
    assert decoded.data.provider == "replay"
    assert decoded.data.change == Decimal("2.50")
    assert decoded.data.change_percent == Decimal("10.0000")
    assert decoded.envelope.type == "marketscope.market-data.QuoteUpdated.v2"
    assert decoded.envelope.dataversion == 2
    assert decoded.envelope.dataschema == f"urn:marketscope:schema:{decoded.envelope.type}"
    assert (decoded.envelope.id, decoded.envelope.sequence) == (stored.id, 3)
    assert "source" not in decoded.envelope.data


def test_v1_without_previous_price_has_no_change() -> None:
    decoded = CATALOG.decode(CATALOG.new_event(stored_v1(None)))
    assert decoded.data.change is None
    assert decoded.data.change_percent is None


def test_missing_step_in_the_chain_is_an_upcast_error() -> None:
    with pytest.raises(UpcastError, match="v1 to v3"):
        UpcasterChain().upcast("QuoteUpdated", {}, 1, 3)
