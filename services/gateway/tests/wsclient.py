"""A WebSocket client for the tests: connect to a served gateway, read protocol messages
past the heartbeats, see how the server closed."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed
from websockets.frames import Close

from .conftest import RunningGateway


def ws_url(gw: RunningGateway) -> str:
    return str(gw.client.base_url).replace("http://", "ws://").rstrip("/") + "/ws"


@asynccontextmanager
async def socket(gw: RunningGateway, token: str) -> AsyncIterator[ClientConnection]:
    """A socket authenticated by its upgrade request, past its welcome."""
    headers = {"Authorization": f"Bearer {token}"}
    async with connect(ws_url(gw), additional_headers=headers) as ws:
        welcome = await next_message(ws)
        assert welcome["type"] == "welcome", welcome
        yield ws


async def next_message(ws: ClientConnection, within: float = 10.0, skip: str = "heartbeat") -> Any:
    while True:
        message = json.loads(await asyncio.wait_for(ws.recv(), within))
        if message["type"] != skip:
            return message


async def subscribe(ws: ClientConnection, channel: str) -> None:
    await ws.send(json.dumps({"type": "subscribe", "channel": channel, "id": channel}))
    reply = await next_message(ws)
    assert reply == {
        "type": "subscribed",
        "channel": channel.replace("aapl", "AAPL"),
        "id": channel,
    }


async def nothing_within(ws: ClientConnection, seconds: float) -> bool:
    try:
        message = await next_message(ws, within=seconds)
    except TimeoutError:
        return True
    raise AssertionError(f"unexpected message {message}")


async def still_open(ws: ClientConnection) -> bool:
    await ws.send(json.dumps({"type": "ping", "id": "alive?"}))
    return bool(await next_message(ws) == {"type": "pong", "id": "alive?"})


async def closed_by_server(ws: ClientConnection, within: float) -> Close:
    """The close frame the server sent within ``within`` seconds (messages before it,
    heartbeats or not, are read and ignored)."""
    with pytest.raises(ConnectionClosed) as closed:
        await asyncio.wait_for(_read_forever(ws), within)
    assert closed.value.rcvd is not None, "the server closed without a close frame"
    return closed.value.rcvd


async def _read_forever(ws: ClientConnection) -> None:
    while True:
        await ws.recv()
