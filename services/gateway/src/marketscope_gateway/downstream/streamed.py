"""A service's streamed answer on its way to the client, never buffered.

The bytes go on as they come off the service's socket (``aiter_raw``), each read as its
own body chunk, which uvicorn writes at once; ``X-Accel-Buffering: no`` asks a proxy in
front (nginx) not to hold them either. When the client goes away, Starlette cancels the
body (it listens for ``http.disconnect`` while it streams); closing the service's
response then closes its connection, which is how the service learns that nobody
listens any more and stops its model call and its tools.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import anyio
import httpx
from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

EVENT_STREAM = "text/event-stream"
STREAM_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}

logger = logging.getLogger(__name__)


class StreamedResponse(StreamingResponse):
    def __init__(self, upstream: httpx.Response, service: str) -> None:
        self._upstream = upstream
        self._service = service
        super().__init__(
            self._chunks(),
            status_code=upstream.status_code,
            media_type=upstream.headers.get("content-type", EVENT_STREAM),
            headers=STREAM_HEADERS,
        )

    async def _chunks(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._upstream.aiter_raw():
                yield chunk
        except httpx.HTTPError as exc:
            # Mid-stream no status can change any more: the stream ends where the
            # service's did, and the client sees no final event (a cut answer).
            logger.warning("%s stream ended early: %r", self._service, exc)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            # Shielded: after a disconnect this runs in a cancelled scope, where an
            # unshielded close would itself be cancelled before it closed anything.
            with anyio.CancelScope(shield=True):
                await self._upstream.aclose()
