"""A gateway WebSocket as the tests on the running stack use it: authenticated, read in
the background, every frame kept, waited on by predicate."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from websockets.asyncio.client import ClientConnection, connect

from .stack import Account, Stack

EVENT_SECONDS = 60.0  # an indexed document under a loaded CI machine


class Socket:
    """An authenticated socket and every frame it received, read in the background."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.frames: list[dict[str, Any]] = []
        self._arrived = asyncio.Condition()
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        async for text in self.ws:
            async with self._arrived:
                self.frames.append(json.loads(text))
                self._arrived.notify_all()

    async def wait_for(
        self, matches: Callable[[dict[str, Any]], bool], after: int = 0
    ) -> dict[str, Any]:
        """The first frame from index ``after`` on that ``matches``, once it arrived."""

        def found() -> dict[str, Any] | None:
            return next((f for f in self.frames[after:] if matches(f)), None)

        async with self._arrived, asyncio.timeout(EVENT_SECONDS):
            await self._arrived.wait_for(lambda: found() is not None)
        frame = found()
        assert frame is not None
        return frame

    async def request(self, message: dict[str, Any]) -> dict[str, Any]:
        """Send a message; the server's reply to it (a frame refused as invalid has no
        ``id`` to echo: replies come in order, so it is the next one)."""
        after = len(self.frames)
        await self.ws.send(json.dumps(message))
        return await self.wait_for(lambda f: f["type"] not in {"event", "heartbeat"}, after)

    async def close(self) -> None:
        await self.ws.close()
        self._reader.cancel()
        await asyncio.gather(self._reader, return_exceptions=True)


@asynccontextmanager
async def socket(stack: Stack, account: Account) -> AsyncIterator[Socket]:
    async with connect(stack.ws_url, additional_headers=account.headers) as ws:
        opened = Socket(ws)
        try:
            welcome = await opened.wait_for(lambda f: f["type"] == "welcome")
            assert welcome["user_id"] == account.user_id
            yield opened
        finally:
            await opened.close()
