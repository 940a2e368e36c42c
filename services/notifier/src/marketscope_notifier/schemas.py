"""HTTP request and response models of the notifier service."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field

from marketscope_events.catalog.events import NotificationKind
from marketscope_notifier.alerts.conditions import Condition, Frequency, Once, describe
from marketscope_notifier.alerts.state import AlertState, Status
from marketscope_notifier.channels.base import DeliveryOutcome
from marketscope_notifier.channels.records import (
    ALL_KINDS,
    AttemptRecord,
    ChannelRecord,
    ChannelStatus,
    ChannelType,
    DeliveryRecord,
    DeliveryStatus,
    Trigger,
)
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
    kind: NotificationKind
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


# Delivery channels

EMAIL_PATTERN = r"^[A-Za-z0-9._%+\-]{1,64}@[A-Za-z0-9\-]+(\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}$"
PHONE_PATTERN = r"^\+[1-9][0-9]{6,14}$"
CHANNEL_LINK = "/api/v1/notification-channels/{channel_id}"
Kinds = Annotated[
    list[NotificationKind],
    Field(
        min_length=1,
        max_length=len(ALL_KINDS),
        description="Which notifications this channel gets (all kinds by default)",
    ),
]


def _all_kinds() -> list[NotificationKind]:
    return list(ALL_KINDS)


class WebhookChannelCreate(_Model):
    type: Literal["webhook"]
    url: str = Field(
        min_length=8, max_length=2048, pattern=r"^https?://", description="http(s) receiver"
    )
    kinds: Kinds = Field(default_factory=_all_kinds)
    description: str | None = Field(default=None, max_length=200)


class EmailChannelCreate(_Model):
    type: Literal["email"]
    email: str = Field(max_length=254, pattern=EMAIL_PATTERN)
    kinds: Kinds = Field(default_factory=_all_kinds)
    description: str | None = Field(default=None, max_length=200)


class SmsChannelCreate(_Model):
    type: Literal["sms"]
    phone: str = Field(pattern=PHONE_PATTERN, description="E.164, e.g. +15555550100")
    kinds: Kinds = Field(default_factory=_all_kinds)
    description: str | None = Field(default=None, max_length=200)


ChannelCreate = Annotated[
    WebhookChannelCreate | EmailChannelCreate | SmsChannelCreate, Field(discriminator="type")
]


class ChannelChangeBody(_Model):
    """What changes; what is left out stays as it is."""

    kinds: Kinds | None = None
    description: str | None = Field(default=None, max_length=200)
    enabled: bool | None = Field(
        default=None, description="false disables it; true enables a disabled one again"
    )
    url: str | None = Field(default=None, min_length=8, max_length=2048, pattern=r"^https?://")


class VerificationCode(_Model):
    code: str = Field(pattern=r"^[0-9]{6}$", description="The code sent by SMS")


class SecretOut(_Model):
    hint: str = Field(description="The secret's first characters, to tell them apart")
    expires_at: datetime | None = Field(description="Set on the old one after a rotation")


class ChannelOut(_Model):
    channel_id: str
    type: ChannelType
    kinds: list[NotificationKind]
    description: str | None
    status: ChannelStatus
    disabled_reason: str | None
    disabled_at: datetime | None
    failing_since: datetime | None = Field(description="Every attempt since then failed")
    url: str | None = None
    secrets: list[SecretOut] | None = None
    email: str | None = None
    phone: str | None = None
    created_at: datetime
    link: str

    @classmethod
    def of(cls, channel: ChannelRecord) -> ChannelOut:
        secrets = None
        if channel.type == "webhook":
            secrets = [
                SecretOut(hint=secret.value[:10] + "…", expires_at=secret.expires_at)
                for secret in channel.secrets
            ]
        return cls(
            channel_id=channel.channel_id,
            type=channel.type,
            kinds=channel.kinds,
            description=channel.description,
            status=channel.status,
            disabled_reason=channel.disabled_reason,
            disabled_at=channel.disabled_at,
            failing_since=channel.failing_since,
            url=channel.url,
            secrets=secrets,
            email=channel.email,
            phone=channel.phone,
            created_at=channel.created_at,
            link=CHANNEL_LINK.format(channel_id=channel.channel_id),
        )


class ChannelWithSecret(_Model):
    channel: ChannelOut
    secret: str | None = Field(
        description="The webhook's signing secret (whsec_...): shown this once only"
    )


class ChannelList(_Model):
    items: list[ChannelOut]


class AttemptOut(_Model):
    number: int
    at: datetime
    trigger: Trigger
    outcome: DeliveryOutcome
    status_code: int | None
    duration_ms: int
    error: str | None
    response_excerpt: str

    @classmethod
    def of(cls, attempt: AttemptRecord) -> AttemptOut:
        return cls.model_validate(attempt.model_dump())


class DeliveryOut(_Model):
    delivery_id: str = Field(description="webhook-id on the wire: the notification's id")
    event_type: str
    title: str | None
    status: DeliveryStatus
    created_at: datetime
    next_attempt_at: datetime | None
    attempts: list[AttemptOut]

    @classmethod
    def of(cls, delivery: DeliveryRecord) -> DeliveryOut:
        notification = delivery.notification
        return cls(
            delivery_id=delivery.delivery_id,
            event_type=delivery.event_type,
            title=notification.title if notification else None,
            status=delivery.status,
            created_at=delivery.created_at,
            next_attempt_at=delivery.next_attempt_at,
            attempts=[AttemptOut.of(attempt) for attempt in delivery.attempts],
        )


class DeliveryList(_Model):
    items: list[DeliveryOut]
    next_cursor: str | None
