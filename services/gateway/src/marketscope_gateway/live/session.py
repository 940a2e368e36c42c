"""How long an authenticated WebSocket may stay open: while its access token has not
expired and its session (the refresh-token family the token was issued in) has not ended.

A socket closes with 4401 at its token's expiry unless the client sent a fresh token for
the same user before; the socket then lives under that token's session and expiry. A
session that ends on this instance (logout, refresh-token reuse) closes its sockets at
once through the hub; one that ends on another instance is seen at the socket's next
check of the gateway's table, every ``check_every`` seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from marketscope_gateway.auth.tokens import TokenCodec
from marketscope_gateway.errors import InvalidToken, StoreUnavailable
from marketscope_gateway.live.hub import Closing, Connection, Hub
from marketscope_gateway.live.protocol import CLOSE_UNAUTHENTICATED
from marketscope_gateway.store import GatewayStore

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SocketGrant:
    """Who a verified access token lets hold a socket, in which session, until when."""

    user_id: str
    session_id: str
    expires_at: int


class SessionVerifier:
    def __init__(self, tokens: TokenCodec, store: GatewayStore) -> None:
        self._tokens = tokens
        self._store = store

    async def verify(self, token: str) -> SocketGrant:
        """The grant of an access token that is valid, names its session, and whose
        session is still open. Raises InvalidToken, or StoreUnavailable when the table
        does not answer."""
        claims = self._tokens.read_access(token)
        if claims.session_id is None:
            # Issued before tokens named their session: such a socket could not be
            # closed by a logout. HTTP still takes it; a refresh gives one that works.
            raise InvalidToken("This access token names no session; refresh it.")
        if not await self.is_open(claims.session_id, claims.user_id):
            raise InvalidToken("The session has ended; log in again.")
        return SocketGrant(claims.user_id, claims.session_id, claims.expires_at)

    async def is_open(self, session_id: str, user_id: str) -> bool:
        family = await self._store.get_family(session_id)
        return family is not None and not family.revoked and family.user_id == user_id

    async def renew(self, connection: Connection, hub: Hub, token: str) -> SocketGrant:
        """Move an open socket to a fresh token of the same user (its session and
        expiry). Raises InvalidToken (a token for another user included): the socket
        then stays as it was."""
        grant = await self.verify(token)
        if grant.user_id != connection.user_id:
            raise InvalidToken("This access token is another user's.")
        hub.renew(connection, grant.session_id, grant.expires_at)
        return grant


async def guard_session(
    connection: Connection,
    hub: Hub,
    sessions: SessionVerifier,
    *,
    check_every: float,
    clock: Callable[[], float] = time.time,
) -> None:
    """Until the connection ends: disconnect it (4401) when its token expires or its
    session is found ended on a check. A check the table does not answer keeps the
    socket (the expiry still bounds it) and is tried again at the next one."""
    next_check = clock() + check_every
    while connection.closing is None:
        now = clock()
        if now >= connection.expires_at:
            hub.disconnect(connection, Closing(CLOSE_UNAUTHENTICATED, "the access token expired"))
            return
        if now >= next_check:
            next_check = now + check_every
            if not await _still_open(sessions, connection):
                hub.disconnect(connection, Closing(CLOSE_UNAUTHENTICATED, "the session has ended"))
                return
            continue
        connection.renewed.clear()
        wait = min(connection.expires_at, next_check) - clock()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(max(wait, 0.0)):
                await connection.renewed.wait()


async def _still_open(sessions: SessionVerifier, connection: Connection) -> bool:
    session_id = connection.session_id
    if session_id is None:
        return True
    try:
        still_open = await sessions.is_open(session_id, connection.user_id)
    except StoreUnavailable:
        logger.warning("could not check a WebSocket's session", exc_info=True)
        return True
    # A fresh token may have moved the socket to another session meanwhile.
    return still_open or connection.session_id != session_id
