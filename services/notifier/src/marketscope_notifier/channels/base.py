"""The channel port: how one notification is delivered to one destination, and what
came of the attempt (the deliveries log and the retry schedule read the result)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Generic, TypeVar

# How much of a receiver's answer the deliveries log keeps.
RESPONSE_EXCERPT_BYTES = 1024


class DeliveryOutcome(StrEnum):
    DELIVERED = "delivered"
    # Try again on the retry schedule (non-2xx, timeout, connection error).
    RETRY = "retry"
    # The receiver answered 410 Gone: disable the endpoint.
    GONE = "gone"
    # The SSRF guard or the URL itself forbids sending: never retry.
    REFUSED = "refused"


@dataclass(frozen=True)
class DeliveryAttempt:
    outcome: DeliveryOutcome
    status_code: int | None
    duration_ms: int
    error: str | None = None
    # What the receiver asked for in Retry-After, in seconds from its answer.
    retry_after_seconds: float | None = None
    # The first RESPONSE_EXCERPT_BYTES of the body, decoded leniently.
    response_excerpt: str = ""


@dataclass(frozen=True)
class OutboundMessage:
    """One notification as it is sent: the same id on every retry, so the receiver can
    recognise a repeat; the timestamp is the attempt's (receivers refuse stale ones)."""

    message_id: str
    payload: bytes  # the JSON body a webhook gets
    timestamp: datetime
    subject: str = ""  # what e-mail and SMS say instead
    text: str = ""


DestinationT = TypeVar("DestinationT", contravariant=True)


class Channel(ABC, Generic[DestinationT]):
    """Delivers a message to a destination of the channel's own kind (a webhook URL and
    its secrets, an e-mail address, ...); one call is one attempt, never a retry loop."""

    @abstractmethod
    async def deliver(self, destination: DestinationT, message: OutboundMessage) -> DeliveryAttempt:
        """Attempt the delivery once; failures are outcomes, not exceptions."""
