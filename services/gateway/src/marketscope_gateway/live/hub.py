"""Who is connected and subscribed to what, and fan-out to them.

Fan-out never waits for a client: each connection has a bounded buffer of encoded frames
drained by its own writer task. A client whose buffer is full is too slow to keep up; it
is dropped (its writer cancelled, the socket closed with 4408) so it can never hold up
the others or grow the process.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime

from marketscope_gateway.live.protocol import OWNED_CHANNELS, HeartbeatMessage, encode
from marketscope_servicekit.lifecycle import pause

logger = logging.getLogger(__name__)


class Connection:
    """One authenticated WebSocket: its user, its subscriptions, its outgoing buffer."""

    def __init__(self, user_id: str, buffer_size: int) -> None:
        self.user_id = user_id
        self.channels: set[str] = set()
        self.outbox: asyncio.Queue[str] = asyncio.Queue(maxsize=buffer_size)
        self.dropped = False
        self.writer: asyncio.Task[None] | None = None

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
        self._on_drop = on_drop
        self._clock = clock
        self.dropped_total = 0

    def add(self, connection: Connection) -> None:
        self.connections.add(connection)

    def remove(self, connection: Connection) -> None:
        self.connections.discard(connection)
        for channel in list(connection.channels):
            self.unsubscribe(connection, channel)

    def subscribe(self, connection: Connection, channel: str) -> None:
        connection.channels.add(channel)
        self._routes[str(route(channel, connection.user_id))].add(connection)

    def unsubscribe(self, connection: Connection, channel: str) -> None:
        connection.channels.discard(channel)
        key = str(route(channel, connection.user_id))
        members = self._routes.get(key)
        if members is not None:
            members.discard(connection)
            if not members:
                del self._routes[key]

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

    def drop(self, connection: Connection) -> None:
        """Disconnect a client that cannot keep up."""
        if connection.dropped:
            return
        connection.dropped = True
        self.dropped_total += 1
        self.remove(connection)
        if connection.writer is not None:
            connection.writer.cancel()
        logger.info("dropped a slow WebSocket client", extra={"user_id": connection.user_id})
        if self._on_drop is not None:
            self._on_drop(connection)

    async def heartbeats(self, interval: float, stop: asyncio.Event) -> None:
        """Every ``interval`` seconds until ``stop``, a heartbeat to every client: it tells
        them the connection is alive, and a client that reads nothing fills its buffer."""
        while not await pause(stop, interval):
            self.broadcast(encode(HeartbeatMessage(time=self._clock())))
