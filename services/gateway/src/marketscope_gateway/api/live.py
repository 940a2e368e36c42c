"""``/ws``: authenticated WebSocket with channel subscriptions (protocol in
``live/protocol.py``, fan-out in ``live/hub.py``)."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from fastapi import APIRouter, WebSocket

from marketscope_gateway.auth.tokens import AccessClaims
from marketscope_gateway.components import Components
from marketscope_gateway.edge import bearer_token
from marketscope_gateway.errors import GatewayError
from marketscope_gateway.live.hub import Connection, Hub
from marketscope_gateway.live.protocol import (
    CLOSE_NOT_STARTED,
    CLOSE_TOO_SLOW,
    CLOSE_UNAUTHENTICATED,
    AuthMessage,
    ErrorMessage,
    InvalidMessage,
    PingMessage,
    PongMessage,
    SubscribedMessage,
    SubscribeMessage,
    UnsubscribedMessage,
    UnsubscribeMessage,
    WelcomeMessage,
    encode,
    parse_client_message,
)
from marketscope_servicekit import NotStarted, components_of

router = APIRouter(tags=["live"])
CLOSE_SECONDS = 1.0

logger = logging.getLogger(__name__)


async def _receive_text(websocket: WebSocket) -> str | None:
    """The next text frame; None when the client went away."""
    message = await websocket.receive()
    if message["type"] == "websocket.disconnect":
        return None
    text = message.get("text")
    if text is None:
        raise InvalidMessage("binary frames are not part of the protocol")
    return str(text)


async def _authenticate(websocket: WebSocket, gateway: Components) -> AccessClaims | None:
    token = bearer_token(websocket.scope)
    try:
        if token is None:
            async with asyncio.timeout(gateway.settings.ws_auth_timeout):
                text = await _receive_text(websocket)
            if text is None:
                return None
            message = parse_client_message(text)
            if not isinstance(message, AuthMessage):
                raise InvalidMessage("the first message must be auth")
            token = message.token
        return gateway.tokens.read_access(token)
    except (TimeoutError, InvalidMessage, GatewayError) as exc:
        reason = "no auth message in time" if isinstance(exc, TimeoutError) else str(exc)
        error = ErrorMessage(code="unauthenticated", message=reason)
        with contextlib.suppress(Exception):
            await websocket.send_text(encode(error))
        await _close(websocket, CLOSE_UNAUTHENTICATED)
        return None


async def _close(websocket: WebSocket, code: int) -> None:
    # A client that stopped reading may never complete the close handshake.
    with contextlib.suppress(Exception):
        async with asyncio.timeout(CLOSE_SECONDS):
            await websocket.close(code)


async def _write(websocket: WebSocket, connection: Connection) -> None:
    while True:
        await websocket.send_text(await connection.outbox.get())


async def _read(websocket: WebSocket, connection: Connection, hub: Hub, limit: int) -> None:
    def reply(
        message: ErrorMessage | SubscribedMessage | UnsubscribedMessage | PongMessage,
    ) -> None:
        if not connection.offer(encode(message)):
            hub.drop(connection)

    while not connection.dropped:
        try:
            text = await _receive_text(websocket)
            if text is None:
                return
            message = parse_client_message(text)
        except InvalidMessage as exc:
            reply(ErrorMessage(code="invalid_message", message=str(exc)))
            continue
        if isinstance(message, SubscribeMessage):
            if message.channel not in connection.channels and len(connection.channels) >= limit:
                reply(
                    ErrorMessage(
                        code="too_many_subscriptions",
                        message=f"at most {limit} subscriptions per connection",
                        id=message.id,
                    )
                )
                continue
            hub.subscribe(connection, message.channel)
            reply(SubscribedMessage(channel=message.channel, id=message.id))
        elif isinstance(message, UnsubscribeMessage):
            hub.unsubscribe(connection, message.channel)
            reply(UnsubscribedMessage(channel=message.channel, id=message.id))
        elif isinstance(message, PingMessage):
            reply(PongMessage(id=message.id))
        else:
            reply(ErrorMessage(code="invalid_message", message="already authenticated"))


@router.websocket("/ws")
async def live(websocket: WebSocket) -> None:
    await websocket.accept()
    try:
        gateway = components_of(websocket, Components)
    except NotStarted:
        await _close(websocket, CLOSE_NOT_STARTED)
        return
    settings = gateway.settings
    claims = await _authenticate(websocket, gateway)
    if claims is None:
        return
    hub = gateway.hub
    connection = Connection(claims.user_id, settings.ws_buffer_messages)
    connection.offer(
        encode(
            WelcomeMessage(
                user_id=claims.user_id,
                heartbeat_seconds=settings.ws_heartbeat_seconds,
                max_subscriptions=settings.ws_max_subscriptions,
            )
        )
    )
    hub.add(connection)
    writer = asyncio.create_task(_write(websocket, connection))
    connection.writer = writer
    reader = asyncio.create_task(_read(websocket, connection, hub, settings.ws_max_subscriptions))
    try:
        # The reader ends when the client leaves; the writer when the hub drops the client
        # for being too slow, or when a send fails.
        await asyncio.wait({reader, writer}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        hub.remove(connection)
        for task in (reader, writer):
            task.cancel()
        await asyncio.gather(reader, writer, return_exceptions=True)
    if connection.dropped:
        await _close(websocket, CLOSE_TOO_SLOW)
    elif not reader.cancelled() and reader.exception() is None:
        return  # the client closed
    else:
        await _close(websocket, 1011)
