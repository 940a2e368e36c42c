"""What the notifier keeps about a user's delivery channels and each delivery to them,
as stored in its table (JSON in one attribute, with a version for conditional writes)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from marketscope_events.catalog.events import NotificationCreated, NotificationKind
from marketscope_notifier.channels.base import DeliveryAttempt, DeliveryOutcome

ChannelType = Literal["webhook", "email", "sms"]
ChannelStatus = Literal["active", "pending_verification", "disabled"]
DeliveryStatus = Literal["pending", "delivered", "failed"]
Trigger = Literal["schedule", "manual", "test"]
ALL_KINDS: tuple[NotificationKind, ...] = ("alert", "analysis", "document", "ops", "account")
# An old secret stays valid this long after a rotation.
ROTATION_GRACE = timedelta(hours=24)


class _Record(BaseModel):
    model_config = ConfigDict(extra="ignore")


class SigningSecret(_Record):
    value: str
    expires_at: AwareDatetime | None = None

    def valid_at(self, moment: datetime) -> bool:
        return self.expires_at is None or moment < self.expires_at


class Verification(_Record):
    """A code sent by SMS that proves the number is the owner's (kept as a hash)."""

    code_hash: str
    expires_at: AwareDatetime
    attempts_left: int


class ChannelRecord(_Record):
    channel_id: str
    owner: str
    type: ChannelType
    kinds: list[NotificationKind]
    description: str | None = None
    created_at: AwareDatetime
    status: ChannelStatus
    disabled_reason: str | None = None
    disabled_at: AwareDatetime | None = None
    # webhook
    url: str | None = None
    secrets: list[SigningSecret] = Field(default_factory=list)
    # email
    email: str | None = None
    subscription_arn: str | None = None
    # sms
    phone: str | None = None
    verification: Verification | None = None
    # Since when every attempt failed (None after a success).
    failing_since: AwareDatetime | None = None
    version: int = 0

    def valid_secrets(self, moment: datetime) -> tuple[str, ...]:
        """The secrets to sign with now, newest first."""
        return tuple(secret.value for secret in self.secrets if secret.valid_at(moment))

    def receives(self, kind: NotificationKind) -> bool:
        return self.status == "active" and kind in self.kinds


class AttemptRecord(_Record):
    number: int
    at: AwareDatetime
    trigger: Trigger
    outcome: DeliveryOutcome
    status_code: int | None = None
    duration_ms: int
    error: str | None = None
    response_excerpt: str = ""

    @classmethod
    def of(
        cls, attempt: DeliveryAttempt, *, number: int, at: datetime, trigger: Trigger
    ) -> AttemptRecord:
        return cls(
            number=number,
            at=at,
            trigger=trigger,
            outcome=attempt.outcome,
            status_code=attempt.status_code,
            duration_ms=attempt.duration_ms,
            error=attempt.error,
            response_excerpt=attempt.response_excerpt,
        )


class DeliveryRecord(_Record):
    """One notification (or test event) to one channel: the dedup key is the pair, and
    the attempts are its log."""

    delivery_id: str  # the notification id, or a test event's id: webhook-id on the wire
    channel_id: str
    owner: str
    event_type: str  # "notification.created" or "channel.test"
    notification: NotificationCreated | None = None
    created_at: AwareDatetime
    status: DeliveryStatus = "pending"
    attempts: list[AttemptRecord] = Field(default_factory=list)
    next_attempt_at: AwareDatetime | None = None
    version: int = 0

    @property
    def scheduled_attempts(self) -> int:
        return sum(1 for attempt in self.attempts if attempt.trigger == "schedule")
