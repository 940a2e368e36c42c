"""The WebSocket protocol: JSON text frames, one object each, told apart by ``type``.

Client to server: ``auth`` (first message, unless the upgrade request carried
``Authorization: Bearer``; later, a fresh token that keeps the socket open past the
current one's expiry), ``subscribe``, ``unsubscribe``, ``ping``.
Server to client: ``welcome``, ``authenticated``, ``subscribed``, ``unsubscribed``,
``event`` (on ``analyses``: AnalysisProgressed while a job runs, then AnalysisCompleted
or AnalysisFailed), ``heartbeat``, ``pong``, ``error``. The JSON Schemas of both
directions are generated from these models and pinned in ``tests/contract/gateway/``.

Client frames are parsed with a nesting limit: a frame too large, too deep or not JSON is
an ``invalid_message`` error, never a reason to drop the connection.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from marketscope_servicekit.json_limits import JsonTooDeep, loads_untrusted

SYMBOL = r"[A-Z0-9^][A-Z0-9.\-^=]{0,14}"
CHANNEL_PATTERN = rf"^(quotes:{SYMBOL}|documents|notifications|analyses)$"
OWNED_CHANNELS = frozenset({"documents", "notifications", "analyses"})
MAX_CLIENT_MESSAGE_CHARS = 4096

# Close codes (4000-4999 are the application's), documented in the server messages'
# schema under ``x-close-codes``.
CLOSE_UNAUTHENTICATED = 4401
CLOSE_TOO_SLOW = 4408
CLOSE_TOO_MANY_CONNECTIONS = 4429
CLOSE_NOT_STARTED = 1013
# Sent by the server itself (uvicorn's ``ws_max_size``, set by ``servicekit.serve``).
CLOSE_FRAME_TOO_BIG = 1009
CLOSE_SERVER_ERROR = 1011
CLOSE_CODES: dict[int, str] = {
    CLOSE_UNAUTHENTICATED: "No valid access token in time; or the access token expired "
    "with no fresh one sent before; or its session ended (logout, refresh-token reuse). "
    "Refresh or log in, then reconnect.",
    CLOSE_TOO_SLOW: "The client did not read its frames fast enough; reconnect.",
    CLOSE_TOO_MANY_CONNECTIONS: "The user already holds the most open sockets allowed on "
    "this instance; close one first.",
    CLOSE_NOT_STARTED: "Try again later: the instance has not finished starting, or its "
    "table did not answer the session check.",
    CLOSE_FRAME_TOO_BIG: "A frame over 64 KiB; the server closes before reading it.",
    CLOSE_SERVER_ERROR: "An unexpected server error.",
}


class _Message(BaseModel):
    model_config = ConfigDict(extra="forbid")


Channel = Annotated[str, Field(pattern=CHANNEL_PATTERN, examples=["quotes:AAPL", "documents"])]
RequestId = Annotated[str, Field(max_length=64, description="Echoed in the reply")]


class AuthMessage(_Message):
    type: Literal["auth"]
    token: str = Field(
        max_length=4096,
        description="An access token; on an open socket, a fresh one for the same user",
    )
    id: RequestId | None = None


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
    expires_at: datetime = Field(
        description="When the access token expires: the socket closes with 4401 then, "
        "unless an auth message brought a fresh token before"
    )
    heartbeat_seconds: float
    max_subscriptions: int


class AuthenticatedMessage(_Message):
    """The reply to an auth message on an open socket: the fresh token was taken."""

    type: Literal["authenticated"] = "authenticated"
    user_id: str
    expires_at: datetime = Field(description="The socket's new expiry: the fresh token's")
    id: RequestId | None = None


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
        "AnalysisProgressed",
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
        "too_many_connections",
        "too_many_subscriptions",
        "not_subscribed",
    ]
    message: str
    id: RequestId | None = None


ServerMessage = Annotated[
    WelcomeMessage
    | AuthenticatedMessage
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
        document = loads_untrusted(text)
    except JsonTooDeep as exc:
        raise InvalidMessage(str(exc)) from exc
    except ValueError as exc:
        raise InvalidMessage("not JSON") from exc
    try:
        return CLIENT_MESSAGES.validate_python(_upper_symbol(document))
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
    server = SERVER_MESSAGES.json_schema(mode="serialization")
    server["x-close-codes"] = {str(code): meaning for code, meaning in CLOSE_CODES.items()}
    return {"client-messages": CLIENT_MESSAGES.json_schema(), "server-messages": server}
