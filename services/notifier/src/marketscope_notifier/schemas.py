"""HTTP request and response models of the notifier service."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field

from marketscope_notifier.alerts.conditions import Condition, Frequency, Once, describe
from marketscope_notifier.alerts.state import AlertState, Status
from marketscope_notifier.inbox.repository import InboxEntry
from marketscope_servicekit.owned_index import Item, created_at_of

SYMBOL_PATTERN = r"^[A-Z0-9^][A-Z0-9.\-^=]{0,14}$"
ALERT_LINK = "/api/v1/alerts/{alert_id}"


def _symbol(value: str) -> str:
    symbol = value.strip().upper()
    if not re.fullmatch(SYMBOL_PATTERN, symbol):
        raise ValueError(f"{value!r} is not a ticker symbol")
    return symbol


Symbol = Annotated[
    str, AfterValidator(_symbol), Field(max_length=15, description="Ticker symbol, e.g. AAPL")
]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class AlertCreate(_Model):
    symbol: Symbol
    condition: Condition
    frequency: Frequency = Field(default_factory=Once)
    expires_at: AwareDatetime | None = Field(
        default=None, description="After this the alert answers no price and ends"
    )
    note: str | None = Field(default=None, max_length=500, description="Shown when it fires")


class AlertChange(_Model):
    """What changes; what is left out stays as it is."""

    condition: Condition | None = None
    frequency: Frequency | None = None
    expires_at: AwareDatetime | None = None
    note: str | None = Field(default=None, max_length=500)


class AlertOut(_Model):
    alert_id: str
    symbol: str
    condition: Condition
    frequency: Frequency
    description: str = Field(description="The condition in words, e.g. 'crosses 100.00'")
    status: Status
    armed: bool = Field(description="False after a fire until the price has moved back")
    fire_count: int
    last_triggered_at: datetime | None
    last_price: float | None = Field(description="The last price that changed its state")
    expires_at: datetime | None
    note: str | None
    created_at: datetime
    updated_at: datetime
    link: str

    @classmethod
    def of(cls, state: AlertState) -> AlertOut:
        return cls(
            alert_id=state.id,
            symbol=state.symbol,
            condition=state.condition,
            frequency=state.frequency,
            description=describe(state.condition),
            status=state.status,
            armed=state.evaluation.armed,
            fire_count=state.evaluation.fire_count,
            last_triggered_at=state.last_triggered_at,
            last_price=state.last_price,
            expires_at=state.expires_at,
            note=state.note,
            created_at=state.created_at,
            updated_at=state.updated_at,
            link=ALERT_LINK.format(alert_id=state.id),
        )


class AlertListItem(_Model):
    alert_id: str
    symbol: str
    description: str
    status: Status
    created_at: datetime
    updated_at: datetime
    link: str

    @classmethod
    def of(cls, item: Item) -> AlertListItem:
        alert_id = item["alert_id"]["S"]
        return cls(
            alert_id=alert_id,
            symbol=item["symbol"]["S"],
            description=item["description"]["S"],
            status=item["status"]["S"],  # type: ignore[arg-type]  # written from a Status
            created_at=created_at_of(item),
            updated_at=datetime.fromisoformat(item["updated_at"]["S"]),
            link=ALERT_LINK.format(alert_id=alert_id),
        )


class AlertList(_Model):
    items: list[AlertListItem]
    next_cursor: str | None


class NotificationOut(_Model):
    notification_id: str
    kind: Literal["alert", "analysis", "document", "ops"]
    title: str
    body: str
    link: str | None
    created_at: datetime
    read: bool

    @classmethod
    def of(cls, entry: InboxEntry) -> NotificationOut:
        n = entry.notification
        return cls(
            notification_id=n.notification_id,
            kind=n.kind,
            title=n.title,
            body=n.body,
            link=n.link,
            created_at=n.created_at,
            read=entry.read,
        )


class NotificationList(_Model):
    items: list[NotificationOut]
    next_cursor: str | None


class UnreadCount(_Model):
    unread: int


class MarkedRead(_Model):
    marked: int
