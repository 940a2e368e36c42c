"""Messages that are not CloudEvents, routed by name: EventBridge's scheduled events,
CloudWatch alarms through SNS. A route's handler gets the same per-message outcome, DLQ
behaviour, backoff, heartbeat and idempotency as an event handler."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from marketscope_events.consuming.queue import Message


@dataclass(frozen=True)
class RawMessage:
    """An SQS message whose body is not a CloudEvents envelope."""

    message_id: str  # SQS MessageId
    body: Any  # the parsed JSON body (dict, list, ...), or the str when it is not JSON
    attributes: Mapping[str, str]  # SQS system attributes (SentTimestamp, SenderId, ...)
    message_attributes: Mapping[str, Any]
    receive_count: int

    @classmethod
    def from_sqs(cls, message: Message, receive_count: int) -> RawMessage:
        text = str(message.get("Body", ""))
        try:
            body: Any = json.loads(text)
        except json.JSONDecodeError:
            body = text
        return cls(
            message_id=str(message.get("MessageId", "?")),
            body=body,
            attributes=dict(message.get("Attributes", {})),
            message_attributes=dict(message.get("MessageAttributes", {})),
            receive_count=receive_count,
        )


RawHandler = Callable[[RawMessage], Awaitable[None]]


@dataclass(frozen=True)
class RawRoute:
    """``matches`` picks the messages, ``handler`` handles them, ``idempotency_key`` names
    what a redelivery or a second copy shares (the EventBridge event id, the SNS
    MessageId): a key handled once is acknowledged again without running the handler."""

    name: str  # e.g. "scheduled-refresh", "cloudwatch-alarm"
    matches: Callable[[RawMessage], bool]
    handler: RawHandler
    idempotency_key: Callable[[RawMessage], str]

    def __post_init__(self) -> None:
        if not self.name or ":" in self.name:
            raise ValueError(f"a raw route needs a name without ':', not {self.name!r}")

    @property
    def event_type(self) -> str:
        """What reports and logs call the messages of this route."""
        return f"raw:{self.name}"

    def claim_key(self, idempotency_key: str) -> str:
        """The id claimed in the idempotency store: namespaced, so a route's keys never
        collide with event ids or with another route's keys."""
        return f"raw:{self.name}:{idempotency_key}"


def first_match(routes: Sequence[RawRoute], message: RawMessage) -> RawRoute | None:
    return next((route for route in routes if route.matches(message)), None)


def unwrap_sns(body: Any) -> Any:
    """The ``Message`` of an SNS notification (parsed when it is JSON) when ``body`` is one,
    that is when the subscription does not use raw delivery; otherwise ``body`` itself.
    A CloudWatch alarm reads the same either way: ``unwrap_sns(m.body)["AlarmName"]``."""
    if not (isinstance(body, dict) and body.get("Type") == "Notification"):
        return body
    message = body.get("Message")
    if not isinstance(message, str):
        return message
    try:
        return json.loads(message)
    except json.JSONDecodeError:
        return message
