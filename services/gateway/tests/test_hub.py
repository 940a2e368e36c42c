"""The fan-out hub: routing by channel and owner, bounded buffers, slow clients dropped
without holding up the others, sockets indexed by user and session; the session guard
when the table does not answer; and the WebSocket protocol parser."""

from __future__ import annotations

import asyncio
import time

import pytest

from marketscope_gateway.errors import StoreUnavailable
from marketscope_gateway.live.hub import Closing, Connection, Hub
from marketscope_gateway.live.protocol import (
    InvalidMessage,
    SubscribeMessage,
    parse_client_message,
)
from marketscope_gateway.live.session import SessionVerifier, guard_session


async def drain(connection: Connection, into: list[str]) -> None:
    while True:
        into.append(await connection.outbox.get())


async def stuck(connection: Connection, blocked: asyncio.Event) -> None:
    """A socket whose send never completes: it takes one frame and hangs."""
    await connection.outbox.get()
    await blocked.wait()


async def test_a_slow_client_is_dropped_and_the_others_get_everything() -> None:
    dropped: list[Connection] = []
    hub = Hub(on_drop=dropped.append)
    fast, slow = Connection("alice", 100), Connection("bob", 3)
    received: list[str] = []
    fast.writer = asyncio.create_task(drain(fast, received))
    slow.writer = asyncio.create_task(stuck(slow, asyncio.Event()))
    for connection in (fast, slow):
        hub.add(connection)
        hub.subscribe(connection, "quotes:AAPL")
    await asyncio.sleep(0)  # let the stuck writer take its one frame

    delivered = [hub.publish("quotes:AAPL", f"frame {i}") for i in range(6)]
    await asyncio.sleep(0)

    # bob's buffer (3) took frames 0-2; frame 3 found it full and dropped him.
    assert delivered == [2, 2, 2, 1, 1, 1]
    assert dropped == [slow]
    assert slow.closing == Closing(4408, "too slow to keep up")
    assert hub.dropped_total == 1
    assert slow not in hub.connections
    assert hub.subscribers("quotes:AAPL") == 1
    await asyncio.sleep(0)
    assert slow.writer.cancelled()
    assert received == [f"frame {i}" for i in range(6)]
    fast.writer.cancel()


async def test_owned_channels_reach_the_owner_only() -> None:
    hub = Hub()
    alice, alice_phone, bob = (
        Connection("alice", 10),
        Connection("alice", 10),
        Connection("bob", 10),
    )
    for connection in (alice, alice_phone, bob):
        hub.add(connection)
        hub.subscribe(connection, "documents")
    assert hub.publish("documents", "indexed", owner="alice") == 2
    assert hub.publish("documents", "ownerless") == 0
    assert bob.outbox.empty()
    assert alice.outbox.get_nowait() == alice_phone.outbox.get_nowait() == "indexed"


async def test_unsubscribe_and_remove_clean_up_routes() -> None:
    hub = Hub()
    connection = Connection("alice", 10)
    hub.add(connection)
    hub.subscribe(connection, "quotes:MSFT")
    hub.subscribe(connection, "notifications")
    hub.unsubscribe(connection, "quotes:MSFT")
    assert hub.publish("quotes:MSFT", "x") == 0
    hub.remove(connection)
    assert hub.publish("notifications", "x", owner="alice") == 0
    assert hub._routes == {}


async def test_heartbeats_reach_every_connection() -> None:
    hub = Hub()
    connection = Connection("alice", 10)
    hub.add(connection)
    stop = asyncio.Event()
    task = asyncio.create_task(hub.heartbeats(0.01, stop))
    frame = await asyncio.wait_for(connection.outbox.get(), 1)
    stop.set()
    await task
    assert '"type":"heartbeat"' in frame


async def test_ending_a_session_closes_its_connections_only() -> None:
    hub = Hub()
    laptop = Connection("alice", 10, session_id="s1")
    phone = Connection("alice", 10, session_id="s2")
    for connection in (laptop, phone):
        hub.add(connection)
        hub.subscribe(connection, "documents")
    assert hub.connections_of("alice") == 2
    assert hub.end_session("s1") == 1
    assert laptop.closing == Closing(4401, "the session has ended")
    assert phone.closing is None
    assert hub.publish("documents", "indexed", owner="alice") == 1
    assert laptop.outbox.empty()
    assert hub.connections_of("alice") == 1
    assert hub.end_session("s1") == 0


async def test_a_renewed_connection_ends_with_its_new_session() -> None:
    hub = Hub()
    connection = Connection("alice", 10, session_id="old", expires_at=100)
    hub.add(connection)
    hub.renew(connection, "new", 200)
    assert (connection.session_id, connection.expires_at) == ("new", 200)
    assert connection.renewed.is_set()
    assert hub.end_session("old") == 0
    assert hub.end_session("new") == 1
    hub.remove(connection)
    assert hub._sessions == {}
    assert hub._users == {}


class TableDown(SessionVerifier):
    """The gateway's table not answering any session check."""

    def __init__(self) -> None:
        self.checks = 0

    async def is_open(self, session_id: str, user_id: str) -> bool:
        self.checks += 1
        raise StoreUnavailable("reading the gateway table failed: ConnectTimeoutError")


async def test_a_session_check_the_table_does_not_answer_keeps_the_socket_till_expiry() -> None:
    hub, sessions = Hub(), TableDown()
    connection = Connection("alice", 10, session_id="s1", expires_at=time.time() + 0.3)
    hub.add(connection)
    await asyncio.wait_for(guard_session(connection, hub, sessions, check_every=0.05), 2)
    assert sessions.checks >= 3
    assert connection.closing == Closing(4401, "the access token expired")


def test_protocol_parses_and_normalises_channels() -> None:
    message = parse_client_message('{"type": "subscribe", "channel": "quotes:brk.b"}')
    assert message == SubscribeMessage(type="subscribe", channel="quotes:BRK.B")


@pytest.mark.parametrize(
    "text",
    [
        "nope",
        "[]",
        '{"type": "subscribe"}',
        '{"type": "subscribe", "channel": "quotes:"}',
        '{"type": "subscribe", "channel": "secrets"}',
        '{"type": "dance"}',
        '{"type": "ping", "extra": 1}',
        '{"type": "ping", "id": "' + "x" * 5000 + '"}',
        "[" * 1200 + "]" * 1200,
        '{"type": "auth", "token": ' + "[" * 100 + "]" * 100 + "}",
    ],
)
def test_protocol_rejects_anything_else(text: str) -> None:
    with pytest.raises(InvalidMessage):
        parse_client_message(text)
