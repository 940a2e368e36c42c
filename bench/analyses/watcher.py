"""The owner's WebSocket on the gateway, subscribed to ``analyses``: every analysis
event is stamped with the benchmark's clock as it arrives and kept by analysis id.

One reader task takes every frame off the socket as soon as it is sent, so an event is
timed when it arrives, not when someone gets round to asking for it; and an event that
arrives before the POST that queued its analysis has answered is kept all the same.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from websockets.asyncio.client import ClientConnection, connect

FINISHED = ("AnalysisCompleted", "AnalysisFailed")
WELCOME_SECONDS = 30.0


@dataclass
class Timeline:
    """What the socket said of one analysis, in ``time.perf_counter()`` seconds."""

    first_progress: float | None = None
    progress_events: int = 0
    finished: float | None = None
    outcome: str | None = None  # AnalysisCompleted or AnalysisFailed
    data: dict[str, Any] = field(default_factory=dict)  # the finishing event's data
    done: asyncio.Event = field(default_factory=asyncio.Event)


class AnalysisWatcher:
    def __init__(self, ws: ClientConnection) -> None:
        self._ws = ws
        self._timelines: dict[str, Timeline] = {}
        self._reader: asyncio.Task[None] | None = None
        self.frames = 0

    def timeline(self, analysis_id: str) -> Timeline:
        return self._timelines.setdefault(analysis_id, Timeline())

    async def finished(self, analysis_id: str, within: float) -> Timeline:
        """The analysis's timeline once it has finished; TimeoutError after ``within``
        seconds, RuntimeError at once if the socket closed."""
        assert self._reader is not None, "not reading"
        timeline = self.timeline(analysis_id)
        waiting = asyncio.ensure_future(timeline.done.wait())
        await asyncio.wait(
            {waiting, self._reader}, timeout=within, return_when=asyncio.FIRST_COMPLETED
        )
        if timeline.done.is_set():
            return timeline
        waiting.cancel()
        if self._reader.done():
            raise RuntimeError(f"the socket closed: {self._reader.exception()!r}")
        raise TimeoutError(f"analysis {analysis_id} did not finish within {within:g} s")

    def start(self) -> None:
        self._reader = asyncio.create_task(self.read())

    async def stop(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader

    async def read(self) -> None:
        async for frame in self._ws:
            arrived = time.perf_counter()
            self.frames += 1
            message = json.loads(frame)
            if message.get("type") != "event" or message.get("channel") != "analyses":
                continue
            timeline = self.timeline(str(message["data"]["analysis_id"]))
            if message["event"] == "AnalysisProgressed":
                timeline.progress_events += 1
                if timeline.first_progress is None:
                    timeline.first_progress = arrived
            elif message["event"] in FINISHED and timeline.finished is None:
                timeline.finished, timeline.outcome = arrived, message["event"]
                timeline.data = message["data"]
                timeline.done.set()


async def _expect(ws: ClientConnection, kind: str) -> dict[str, Any]:
    while True:
        message: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), WELCOME_SECONDS))
        if message["type"] == kind:
            return message
        if message["type"] == "error":
            raise RuntimeError(f"the gateway's socket refused: {message}")


@contextlib.asynccontextmanager
async def watching(gateway_url: str, auth: dict[str, str]) -> AsyncIterator[AnalysisWatcher]:
    """A socket authenticated by its upgrade request and subscribed to ``analyses``
    before this yields, so no event of an analysis queued afterwards is missed."""
    url = gateway_url.replace("http://", "ws://").rstrip("/") + "/ws"
    async with connect(url, additional_headers=auth) as ws:
        await _expect(ws, "welcome")
        await ws.send(json.dumps({"type": "subscribe", "channel": "analyses", "id": "bench"}))
        await _expect(ws, "subscribed")
        watcher = AnalysisWatcher(ws)
        watcher.start()
        try:
            yield watcher
        finally:
            await watcher.stop()
