"""``/ws``: authenticated WebSocket with channel subscriptions (protocol in
``live/protocol.py``, fan-out in ``live/hub.py``, token expiry and session checks in
``live/session.py``)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime

from fastapi import APIRouter, WebSocket

from marketscope_gateway.components import Components
from marketscope_gateway.edge import bearer_token
from marketscope_gateway.errors import GatewayError, StoreUnavailable
from marketscope_gateway.live.hub import Connection, Hub
from marketscope_gateway.live.protocol import (
    CLOSE_NOT_STARTED,
    CLOSE_SERVER_ERROR,
    CLOSE_TOO_MANY_CONNECTIONS,
    CLOSE_UNAUTHENTICATED,
    AuthenticatedMessage,
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
from marketscope_gateway.live.session import SessionVerifier, SocketGrant, guard_session
from marketscope_servicekit import NotStarted, components_of

router = APIRouter(tags=["live"])
CLOSE_SECONDS = 1.0
Reply = ErrorMessage | AuthenticatedMessage | SubscribedMessage | UnsubscribedMessage | PongMessage

logger = logging.getLogger(__name__)


def _time(epoch_seconds: float) -> datetime:
    return datetime.fromtimestamp(epoch_seconds, UTC)


async def _receive_text(websocket: WebSocket) -> str | None:
    """The next text frame; None when the client went away."""
    message = await websocket.receive()
    if message["type"] == "websocket.disconnect":
        return None
    text = message.get("text")
    if text is None:
        raise InvalidMessage("binary frames are not part of the protocol")
    return str(text)


async def _refuse(websocket: WebSocket, error: ErrorMessage, code: int) -> None:
    """Say why, then close: for sockets that never became a connection."""
    with contextlib.suppress(Exception):
        await websocket.send_text(encode(error))
    await _close(websocket, code, error.message)


async def _authenticate(
    websocket: WebSocket, gateway: Components, sessions: SessionVerifier
) -> SocketGrant | None:
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
        return await sessions.verify(token)
    except StoreUnavailable:
        await _close(websocket, CLOSE_NOT_STARTED, "sessions cannot be checked; try again")
        return None
    except (TimeoutError, InvalidMessage, GatewayError) as exc:
        reason = "no auth message in time" if isinstance(exc, TimeoutError) else str(exc)
        error = ErrorMessage(code="unauthenticated", message=reason)
        await _refuse(websocket, error, CLOSE_UNAUTHENTICATED)
        return None


async def _close(websocket: WebSocket, code: int, reason: str | None = None) -> None:
    # A client that stopped reading may never complete the close handshake.
    with contextlib.suppress(Exception):
        async with asyncio.timeout(CLOSE_SECONDS):
            await websocket.close(code, reason)


async def _write(websocket: WebSocket, connection: Connection) -> None:
    while True:
        await websocket.send_text(await connection.outbox.get())


async def _read(
    websocket: WebSocket,
    connection: Connection,
    hub: Hub,
    sessions: SessionVerifier,
    limit: int,
) -> None:
    def reply(message: Reply) -> None:
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
            reply(await _renew(connection, hub, sessions, message))


async def _renew(
    connection: Connection, hub: Hub, sessions: SessionVerifier, message: AuthMessage
) -> AuthenticatedMessage | ErrorMessage:
    """A fresh token on an open socket: taken, or refused with the socket left as it was
    (it still closes at the current token's expiry)."""
    try:
        grant = await sessions.renew(connection, hub, message.token)
    except GatewayError as exc:  # an unusable token, or the table not answering
        return ErrorMessage(code="unauthenticated", message=str(exc), id=message.id)
    return AuthenticatedMessage(
        user_id=grant.user_id, expires_at=_time(grant.expires_at), id=message.id
    )


@router.websocket("/ws")
async def live(websocket: WebSocket) -> None:
    await websocket.accept()
    try:
        gateway = components_of(websocket, Components)
    except NotStarted:
        await _close(websocket, CLOSE_NOT_STARTED)
        return
    settings, hub = gateway.settings, gateway.hub
    sessions = SessionVerifier(gateway.tokens, gateway.store)
    grant = await _authenticate(websocket, gateway, sessions)
    if grant is None:
        return
    # No await between counting and adding: two sockets opening at once cannot both
    # take the last place.
    cap = settings.ws_max_connections_per_user
    if hub.connections_of(grant.user_id) >= cap:
        error = ErrorMessage(
            code="too_many_connections", message=f"at most {cap} open sockets per user"
        )
        await _refuse(websocket, error, CLOSE_TOO_MANY_CONNECTIONS)
        return
    connection = Connection(
        grant.user_id,
        settings.ws_buffer_messages,
        session_id=grant.session_id,
        expires_at=grant.expires_at,
    )
    connection.offer(
        encode(
            WelcomeMessage(
                user_id=grant.user_id,
                expires_at=_time(grant.expires_at),
                heartbeat_seconds=settings.ws_heartbeat_seconds,
                max_subscriptions=settings.ws_max_subscriptions,
            )
        )
    )
    hub.add(connection)
    writer = asyncio.create_task(_write(websocket, connection))
    connection.writer = writer
    reader = asyncio.create_task(
        _read(websocket, connection, hub, sessions, settings.ws_max_subscriptions)
    )
    guard = asyncio.create_task(
        guard_session(connection, hub, sessions, check_every=settings.ws_session_check_seconds)
    )
    try:
        # The reader ends when the client leaves; the writer when the hub ends the
        # connection (too slow, token expired, session ended), or when a send fails.
        await asyncio.wait({reader, writer, guard}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        hub.remove(connection)
        for task in (reader, writer, guard):
            task.cancel()
        await asyncio.gather(reader, writer, guard, return_exceptions=True)
    if connection.closing is not None:
        await _close(websocket, connection.closing.code, connection.closing.reason)
    elif not reader.cancelled() and reader.exception() is None:
        return  # the client closed
    else:
        await _close(websocket, CLOSE_SERVER_ERROR)
