"""WebSocket clients through the gateway for the whole run: each subscribes to two
``quotes:`` channels and pings every few seconds; the pong's round trip is its latency.
A socket that closes, an ``error`` frame or a pong that never comes is an error."""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections import Counter
from dataclasses import dataclass, field

from mix import SYMBOLS
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from bench.chat.account import User

PING_EVERY_S = 2.0
PONG_WAIT_S = 10.0


@dataclass
class SocketFigures:
    clients: int = 0
    connect_ms: list[float] = field(default_factory=list)
    ping_ms: list[float] = field(default_factory=list)
    events: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    recording: bool = True  # set False between the load and the soak to start afresh

    def reset(self) -> None:
        self.connect_ms.clear()
        self.ping_ms.clear()
        self.events.clear()
        self.errors.clear()


class SocketClient:
    def __init__(self, url: str, user: User, figures: SocketFigures, seed: int) -> None:
        self._url = url
        self._user = user
        self._figures = figures
        self._rng = random.Random(seed)
        self._pings: dict[str, float] = {}
        self._closing = False
        self._ws: ClientConnection | None = None

    async def open(self) -> None:
        started = time.perf_counter()
        ws = await connect(self._url, additional_headers=self._user.auth, compression=None)
        welcome = json.loads(await ws.recv())
        if welcome.get("type") != "welcome":
            raise RuntimeError(f"no welcome: {welcome}")
        for symbol in self._rng.sample(SYMBOLS, 2):
            await ws.send(json.dumps({"type": "subscribe", "channel": f"quotes:{symbol}"}))
        self._figures.connect_ms.append((time.perf_counter() - started) * 1000)
        self._ws = ws

    async def run(self) -> None:
        assert self._ws is not None
        pinger = asyncio.create_task(self._ping(self._ws))
        try:
            async for raw in self._ws:
                self._read(json.loads(raw))
        except ConnectionClosed as exc:
            if not self._closing:
                self._figures.errors[f"closed {exc.rcvd.code if exc.rcvd else '?'}"] += 1
        else:
            if not self._closing:
                self._figures.errors["closed by the server"] += 1
        finally:
            pinger.cancel()

    def _read(self, frame: dict[str, object]) -> None:
        kind = str(frame.get("type"))
        if kind == "pong":
            sent = self._pings.pop(str(frame.get("id")), None)
            if sent is not None:
                self._figures.ping_ms.append((time.perf_counter() - sent) * 1000)
        elif kind == "event":
            self._figures.events[str(frame.get("event"))] += 1
        elif kind == "error":
            self._figures.errors[f"error frame: {frame.get('code')}"] += 1

    async def _ping(self, ws: ClientConnection) -> None:
        count = 0
        await asyncio.sleep(self._rng.uniform(0, PING_EVERY_S))
        while True:
            count += 1
            ping_id = f"p{count}"
            now = time.perf_counter()
            for pending, sent in list(self._pings.items()):
                if now - sent > PONG_WAIT_S:
                    del self._pings[pending]
                    self._figures.errors["pong not received in 10 s"] += 1
            self._pings[ping_id] = now
            await ws.send(json.dumps({"type": "ping", "id": ping_id}))
            await asyncio.sleep(PING_EVERY_S)

    async def close(self) -> None:
        self._closing = True
        if self._ws is not None:
            await self._ws.close()


async def open_clients(
    gateway: str, users: list[User], count: int, figures: SocketFigures
) -> tuple[list[SocketClient], list[asyncio.Task[None]]]:
    url = gateway.replace("http://", "ws://") + "/ws"
    clients = [
        SocketClient(url, users[index % len(users)], figures, seed=index) for index in range(count)
    ]
    await asyncio.gather(*(client.open() for client in clients))
    figures.clients = count
    return clients, [asyncio.create_task(client.run()) for client in clients]


async def close_clients(clients: list[SocketClient], tasks: list[asyncio.Task[None]]) -> None:
    await asyncio.gather(*(client.close() for client in clients), return_exceptions=True)
    await asyncio.gather(*tasks, return_exceptions=True)
