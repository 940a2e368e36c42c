"""Field types shared by the event models: Decimal-safe money, UTC times, symbols."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, ClassVar

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field

from marketscope_events.timeutil import ensure_utc

# Prices travel as JSON strings ("187.25"): never a binary float on the wire.
Price = Annotated[Decimal, Field(ge=0, allow_inf_nan=False)]
SignedDecimal = Annotated[Decimal, Field(allow_inf_nan=False)]
UtcDateTime = Annotated[AwareDatetime, AfterValidator(ensure_utc)]
Symbol = Annotated[str, Field(pattern=r"^[A-Z0-9][A-Z0-9.\-^=]{0,14}$")]
CurrencyCode = Annotated[str, Field(pattern=r"^[A-Z]{3}$")]
Identifier = Annotated[str, Field(min_length=1, max_length=128)]


class EventData(BaseModel):
    """Base of every event payload: immutable, strict about unknown fields."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    event_name: ClassVar[str]
    event_version: ClassVar[int]
