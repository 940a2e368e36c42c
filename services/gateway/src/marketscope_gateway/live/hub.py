"""Who is connected and subscribed to what, and fan-out to them.

Fan-out never waits for a client: each connection has a bounded buffer of encoded frames
drained by its own writer task. A client whose buffer is full is too slow to keep up; it
is dropped (its writer cancelled, the socket closed with 4408) so it can never hold up
the others or grow the process. Connections are also indexed by user (to cap how many
one user holds) and by session (so that ending a session closes its sockets at once).
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from marketscope_gateway.live.protocol import (
    CLOSE_TOO_SLOW,
    CLOSE_UNAUTHENTICATED,
    OWNED_CHANNELS,
    HeartbeatMessage,
    encode,
)
from marketscope_servicekit.lifecycle import pause

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Closing:
    """Why the server ends a connection: the WebSocket close code and reason it sends."""

    code: int
    reason: str


class Connection:
    """One authenticated WebSocket: its user and session, until when its access token
    holds, its subscriptions, its outgoing buffer."""

    def __init__(
        self,
        user_id: str,
        buffer_size: int,
        *,
        session_id: str | None = None,
        expires_at: float = math.inf,
    ) -> None:
        self.user_id = user_id
        self.session_id = session_id
        self.expires_at = expires_at
        # Set when a fresh token moved the session or the expiry: wakes the session guard.
        self.renewed = asyncio.Event()
        self.channels: set[str] = set()
        self.outbox: asyncio.Queue[str] = asyncio.Queue(maxsize=buffer_size)
        self.closing: Closing | None = None
        self.writer: asyncio.Task[None] | None = None

    @property
    def dropped(self) -> bool:
        """The server has ended this connection (and said why in ``closing``)."""
        return self.closing is not None

    def offer(self, frame: str) -> bool:
        """Queue a frame; False when the buffer is full."""
        try:
            self.outbox.put_nowait(frame)
        except asyncio.QueueFull:
            return False
        return True


def route(channel: str, owner: str | None) -> str | None:
    """Owned channels are routed per user (``documents#<user>``), so an event reaches its
    owner's sockets without looking at anyone else's; None: nobody may receive it."""
    if channel not in OWNED_CHANNELS:
        return channel
    return None if owner is None else f"{channel}#{owner}"


class Hub:
    def __init__(
        self,
        *,
        on_drop: Callable[[Connection], None] | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.connections: set[Connection] = set()
        self._routes: defaultdict[str, set[Connection]] = defaultdict(set)
        self._users: defaultdict[str, set[Connection]] = defaultdict(set)
        self._sessions: defaultdict[str, set[Connection]] = defaultdict(set)
        self._on_drop = on_drop
        self._clock = clock
        self.dropped_total = 0

    def add(self, connection: Connection) -> None:
        self.connections.add(connection)
        self._users[connection.user_id].add(connection)
        if connection.session_id is not None:
            self._sessions[connection.session_id].add(connection)

    def remove(self, connection: Connection) -> None:
        self.connections.discard(connection)
        _discard(self._users, connection.user_id, connection)
        if connection.session_id is not None:
            _discard(self._sessions, connection.session_id, connection)
        for channel in list(connection.channels):
            self.unsubscribe(connection, channel)

    def connections_of(self, user_id: str) -> int:
        return len(self._users.get(user_id, ()))

    def renew(self, connection: Connection, session_id: str, expires_at: float) -> None:
        """The client sent a fresh access token: the connection lives under its session
        and until its expiry from now on."""
        if connection.session_id is not None:
            _discard(self._sessions, connection.session_id, connection)
        connection.session_id, connection.expires_at = session_id, expires_at
        if connection in self.connections:
            self._sessions[session_id].add(connection)
        connection.renewed.set()

    def end_session(self, session_id: str) -> int:
        """Close every connection of a session that has ended (logout, refresh-token
        reuse); how many there were."""
        ended = list(self._sessions.get(session_id, ()))
        for connection in ended:
            self.disconnect(connection, Closing(CLOSE_UNAUTHENTICATED, "the session has ended"))
        return len(ended)

    def subscribe(self, connection: Connection, channel: str) -> None:
        connection.channels.add(channel)
        self._routes[str(route(channel, connection.user_id))].add(connection)

    def unsubscribe(self, connection: Connection, channel: str) -> None:
        connection.channels.discard(channel)
        _discard(self._routes, str(route(channel, connection.user_id)), connection)

    def subscribers(self, channel: str, owner: str | None = None) -> int:
        key = route(channel, owner)
        return 0 if key is None else len(self._routes.get(key, ()))

    def publish(self, channel: str, frame: str, *, owner: str | None = None) -> int:
        """Queue ``frame`` for the channel's subscribers (only ``owner``'s sockets for an
        owned channel). Returns how many connections took it."""
        key = route(channel, owner)
        if key is None:
            return 0
        delivered = 0
        for connection in list(self._routes.get(key, ())):
            if connection.offer(frame):
                delivered += 1
            else:
                self.drop(connection)
        return delivered

    def broadcast(self, frame: str) -> None:
        for connection in list(self.connections):
            if not connection.offer(frame):
                self.drop(connection)

    def disconnect(self, connection: Connection, closing: Closing) -> bool:
        """End a connection from the server's side: it takes no frame from now on, its
        writer stops, and its socket closes with ``closing``. False when it had already
        been ended."""
        if connection.closing is not None:
            return False
        connection.closing = closing
        self.remove(connection)
        if connection.writer is not None:
            connection.writer.cancel()
        logger.info(
            "closing a WebSocket: %s",
            closing.reason,
            extra={"user_id": connection.user_id, "close_code": closing.code},
        )
        return True

    def drop(self, connection: Connection) -> None:
        """Disconnect a client that cannot keep up."""
        if not self.disconnect(connection, Closing(CLOSE_TOO_SLOW, "too slow to keep up")):
            return
        self.dropped_total += 1
        if self._on_drop is not None:
            self._on_drop(connection)

    async def heartbeats(self, interval: float, stop: asyncio.Event) -> None:
        """Every ``interval`` seconds until ``stop``, a heartbeat to every client: it tells
        them the connection is alive, and a client that reads nothing fills its buffer."""
        while not await pause(stop, interval):
            self.broadcast(encode(HeartbeatMessage(time=self._clock())))


def _discard(index: defaultdict[str, set[Connection]], key: str, connection: Connection) -> None:
    members = index.get(key)
    if members is not None:
        members.discard(connection)
        if not members:
            del index[key]
