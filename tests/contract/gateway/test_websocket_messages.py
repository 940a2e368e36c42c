"""The WebSocket message shapes, pinned by committed JSON Schemas: the schemas generated
from the protocol models must equal the committed ones (``MARKETSCOPE_UPDATE_SNAPSHOTS=1``
rewrites them on purpose), and the frames the gateway really sends validate against them."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from marketscope_events import CATALOG, DecodedEvent
from marketscope_events.catalog import DocumentIndexed, QuoteUpdated
from marketscope_gateway.handlers import LivePush
from marketscope_gateway.live.hub import Connection, Hub
from marketscope_gateway.live.protocol import (
    AuthenticatedMessage,
    ErrorMessage,
    HeartbeatMessage,
    PongMessage,
    SubscribedMessage,
    UnsubscribedMessage,
    WelcomeMessage,
    encode,
    json_schemas,
)
from marketscope_servicekit import MetricsRecorder
from marketscope_servicekit.openapi_compat import UPDATE_ENV

HERE = Path(__file__).resolve().parent


def committed(name: str) -> dict[str, Any]:
    path = HERE / f"websocket-{name}.json"
    schema: dict[str, Any] = json.loads(path.read_text())
    return schema


@pytest.mark.parametrize("name", ["client-messages", "server-messages"])
def test_committed_schemas_match_the_protocol(name: str) -> None:
    generated = json_schemas()[name]
    path = HERE / f"websocket-{name}.json"
    if os.environ.get(UPDATE_ENV) == "1":
        path.write_text(json.dumps(generated, indent=2, sort_keys=True) + "\n")
    assert generated == committed(name), (
        f"the {name} changed: review the change for clients, then rerun with {UPDATE_ENV}=1"
    )


async def frames_the_gateway_sends() -> list[dict[str, Any]]:
    hub = Hub()
    connection = Connection("alice", 100)
    hub.add(connection)
    hub.subscribe(connection, "quotes:AAPL")
    hub.subscribe(connection, "documents")
    push = LivePush(hub, MetricsRecorder("gateway"))
    quote = QuoteUpdated(
        symbol="AAPL",
        price=Decimal("187.25"),
        previous_price=None,
        change=None,
        change_percent=None,
        as_of=datetime.now(UTC),
        provider="replay",
    )
    indexed = DocumentIndexed(
        document_id="d1",
        owner="alice",
        version_id=None,
        chunk_count=1,
        embedding_model="minilm",
        duration_ms=5,
        indexed_at=datetime.now(UTC),
    )
    for data in (quote, indexed):
        await push.handle(DecodedEvent(CATALOG.new_event(data), data))
    replies = [
        WelcomeMessage(
            user_id="alice",
            expires_at=datetime.now(UTC),
            heartbeat_seconds=20,
            max_subscriptions=100,
        ),
        AuthenticatedMessage(user_id="alice", expires_at=datetime.now(UTC), id="r1"),
        SubscribedMessage(channel="quotes:AAPL", id="1"),
        UnsubscribedMessage(channel="documents"),
        HeartbeatMessage(time=datetime.now(UTC)),
        PongMessage(),
        ErrorMessage(code="invalid_message", message="not JSON"),
        ErrorMessage(code="too_many_connections", message="at most 10 open sockets per user"),
    ]
    frames = [connection.outbox.get_nowait() for _ in range(connection.outbox.qsize())]
    return [json.loads(frame) for frame in [*frames, *map(encode, replies)]]


async def test_frames_the_gateway_sends_validate() -> None:
    schema = committed("server-messages")
    frames = await frames_the_gateway_sends()
    assert [frame["type"] for frame in frames[:2]] == ["event", "event"]
    for frame in frames:
        jsonschema.validate(frame, schema)
    broken = {**frames[0]}
    del broken["channel"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, schema)


@pytest.mark.parametrize(
    "message",
    [
        {"type": "auth", "token": "eyJ..."},
        {"type": "auth", "token": "eyJ...", "id": "renew-1"},
        {"type": "subscribe", "channel": "quotes:AAPL", "id": "1"},
        {"type": "subscribe", "channel": "notifications"},
        {"type": "unsubscribe", "channel": "analyses"},
        {"type": "ping"},
    ],
)
def test_documented_client_messages_validate(message: dict[str, Any]) -> None:
    jsonschema.validate(message, committed("client-messages"))


def test_client_schema_refuses_unknown_channels() -> None:
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(
            {"type": "subscribe", "channel": "everything"}, committed("client-messages")
        )
