"""The WebSocket protocol: JSON text frames, one object each, told apart by ``type``.

Client to server: ``auth`` (first message, unless the upgrade request carried
``Authorization: Bearer``), ``subscribe``, ``unsubscribe``, ``ping``.
Server to client: ``welcome``, ``subscribed``, ``unsubscribed``, ``event``, ``heartbeat``,
``pong``, ``error``. The JSON Schemas of both directions are generated from these models
and pinned in ``tests/contract/gateway/``.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

SYMBOL = r"[A-Z0-9^][A-Z0-9.\-^=]{0,14}"
CHANNEL_PATTERN = rf"^(quotes:{SYMBOL}|documents|notifications|analyses)$"
OWNED_CHANNELS = frozenset({"documents", "notifications", "analyses"})
MAX_CLIENT_MESSAGE_CHARS = 4096

# Close codes (4000-4999 are the application's).
CLOSE_UNAUTHENTICATED = 4401
CLOSE_TOO_SLOW = 4408
CLOSE_NOT_STARTED = 1013  # "try again later": the instance has not finished starting


class _Message(BaseModel):
    model_config = ConfigDict(extra="forbid")


Channel = Annotated[str, Field(pattern=CHANNEL_PATTERN, examples=["quotes:AAPL", "documents"])]
RequestId = Annotated[str, Field(max_length=64, description="Echoed in the reply")]


class AuthMessage(_Message):
    type: Literal["auth"]
    token: str = Field(max_length=4096, description="An access token")


class SubscribeMessage(_Message):
    type: Literal["subscribe"]
    channel: Channel
    id: RequestId | None = None


class UnsubscribeMessage(_Message):
    type: Literal["unsubscribe"]
    channel: Channel
    id: RequestId | None = None


class PingMessage(_Message):
    type: Literal["ping"]
    id: RequestId | None = None


ClientMessage = Annotated[
    AuthMessage | SubscribeMessage | UnsubscribeMessage | PingMessage,
    Field(discriminator="type"),
]


class WelcomeMessage(_Message):
    type: Literal["welcome"] = "welcome"
    user_id: str
    heartbeat_seconds: float
    max_subscriptions: int


class SubscribedMessage(_Message):
    type: Literal["subscribed"] = "subscribed"
    channel: Channel
    id: RequestId | None = None


class UnsubscribedMessage(_Message):
    type: Literal["unsubscribed"] = "unsubscribed"
    channel: Channel
    id: RequestId | None = None


class EventMessage(_Message):
    type: Literal["event"] = "event"
    channel: Channel
    event: Literal[
        "QuoteUpdated",
        "DocumentIndexed",
        "NotificationCreated",
        "AnalysisCompleted",
        "AnalysisFailed",
    ]
    event_type: str = Field(description="The CloudEvents type, marketscope.<svc>.<Event>.v<N>")
    event_id: str
    time: datetime = Field(description="When the producer created the event")
    received_at: datetime = Field(description="When this gateway took it off its queue")
    data: dict[str, Any] = Field(description="The event's data at its latest version")


class HeartbeatMessage(_Message):
    type: Literal["heartbeat"] = "heartbeat"
    time: datetime


class PongMessage(_Message):
    type: Literal["pong"] = "pong"
    id: RequestId | None = None


class ErrorMessage(_Message):
    type: Literal["error"] = "error"
    code: Literal[
        "invalid_message",
        "unauthenticated",
        "too_many_subscriptions",
        "not_subscribed",
    ]
    message: str
    id: RequestId | None = None


ServerMessage = Annotated[
    WelcomeMessage
    | SubscribedMessage
    | UnsubscribedMessage
    | EventMessage
    | HeartbeatMessage
    | PongMessage
    | ErrorMessage,
    Field(discriminator="type"),
]

CLIENT_MESSAGES: TypeAdapter[ClientMessage] = TypeAdapter(ClientMessage)
SERVER_MESSAGES: TypeAdapter[ServerMessage] = TypeAdapter(ServerMessage)


class InvalidMessage(Exception):
    """A client frame that is not a protocol message."""


def _upper_symbol(document: Any) -> Any:
    # ``quotes:aapl`` is what people type; the channel is ``quotes:AAPL``.
    if isinstance(document, dict) and isinstance(document.get("channel"), str):
        channel = document["channel"]
        if channel.startswith("quotes:"):
            document["channel"] = "quotes:" + channel[len("quotes:") :].upper()
    return document


def parse_client_message(text: str) -> ClientMessage:
    if len(text) > MAX_CLIENT_MESSAGE_CHARS:
        raise InvalidMessage(f"messages are at most {MAX_CLIENT_MESSAGE_CHARS} characters")
    try:
        return CLIENT_MESSAGES.validate_python(_upper_symbol(json.loads(text)))
    except json.JSONDecodeError as exc:
        raise InvalidMessage("not JSON") from exc
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'message'}: {e['msg']}"
            for e in exc.errors(include_url=False)
        )
        raise InvalidMessage(problems) from exc


def encode(message: BaseModel) -> str:
    return message.model_dump_json(exclude_none=True)


def json_schemas() -> dict[str, dict[str, Any]]:
    """The JSON Schemas of both directions, as committed under tests/contract/gateway."""
    return {
        "client-messages": CLIENT_MESSAGES.json_schema(),
        "server-messages": SERVER_MESSAGES.json_schema(mode="serialization"),
    }
