"""One kept-alive HTTP/1.1 connection to a service: an asyncio protocol that writes a
request and parses its answer with httptools (llhttp, in C), one exchange at a time.

Being a protocol rather than a stream is the point: the event loop tells the connection
the moment the service closes it (``connection_lost``), so a pool of idle connections
never has to ask each socket whether it is still open before every request, which is
what httpcore's pool does (a poll of every idle connection per request: the larger the
pool, the dearer every call). Everything an exchange can fail with is one of httpx's own
exceptions, so callers handle these connections as they handle httpx's.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from typing import cast

import httptools
import httpx

# Body bytes kept unread before the socket stops being read (a slow reader of a stream).
HIGH_WATER = 256 * 1024
LOW_WATER = 64 * 1024
_CHUNKED = b"chunked"
_BREAKS = frozenset(b"\r\n\0")


class Exchange:
    """What one request got back so far: the head, body chunks, the end or a failure."""

    def __init__(self, head_only: bool) -> None:
        loop = asyncio.get_running_loop()
        self.head: asyncio.Future[None] = loop.create_future()
        self.head_only = head_only
        self.status = 0
        self.reason = b""
        self.headers: list[tuple[bytes, bytes]] = []
        self.chunks: deque[bytes] = deque()
        self.buffered = 0
        self.complete = False
        self.error: httpx.TransportError | None = None
        self.waiter: asyncio.Future[None] | None = None

    def wake(self) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(None)

    def fail(self, error: httpx.TransportError) -> None:
        if self.complete or self.error is not None:
            return
        self.error = error
        if not self.head.done():
            self.head.set_exception(error)
        self.wake()


class Connection(asyncio.Protocol):
    """Made by ``loop.create_connection``; ``on_lost`` is told when it closes, by either
    side, so the pool can forget it."""

    def __init__(self, origin: str, on_lost: Callable[[Connection], None]) -> None:
        self.origin = origin
        self._on_lost = on_lost
        self._transport: asyncio.Transport | None = None
        self._parser: httptools.HttpResponseParser | None = None
        self._exchange: Exchange | None = None
        self._keep_alive = False
        self._reading_paused = False
        self._drained: asyncio.Future[None] | None = None
        self.closed = False
        self.idle_since = time.monotonic()

    # ---------------------------------------------------------------- asyncio callbacks

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports have asyncio's methods without subclassing its classes.
        self._transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        if self._parser is None:  # bytes nobody asked for: the connection is unusable
            self.close()
            return
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(httpx.RemoteProtocolError(f"{self.origin} sent malformed HTTP: {exc}"))
            self.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        exchange = self._exchange
        if exchange is not None and not exchange.complete:
            if exchange.head_only and exchange.head.done():
                exchange.complete = True
            elif exc is not None:
                exchange.fail(httpx.ReadError(f"{self.origin}: {exc!r}"))
            elif not exchange.head.done():
                exchange.fail(
                    httpx.RemoteProtocolError("Server disconnected without sending a response.")
                )
            else:
                exchange.fail(
                    httpx.RemoteProtocolError(
                        "peer closed connection without sending complete message body"
                    )
                )
        if self._drained is not None and not self._drained.done():
            self._drained.set_exception(httpx.WriteError(f"{self.origin} closed the connection"))
        self._on_lost(self)

    def pause_writing(self) -> None:
        self._drained = asyncio.get_running_loop().create_future()

    def resume_writing(self) -> None:
        if self._drained is not None and not self._drained.done():
            self._drained.set_result(None)
        self._drained = None

    # ------------------------------------------------------------------ parser callbacks

    def _current(self) -> Exchange | None:
        """The exchange being answered; None once its answer is complete."""
        exchange = self._exchange
        return None if exchange is None or exchange.complete else exchange

    def on_status(self, reason: bytes) -> None:
        if (exchange := self._current()) is not None:
            exchange.reason += reason

    def on_header(self, name: bytes, value: bytes) -> None:
        if (exchange := self._current()) is not None:
            exchange.headers.append((name, value))

    def on_headers_complete(self) -> None:
        exchange, parser = self._current(), self._parser
        if exchange is None or parser is None:
            return
        exchange.status = parser.get_status_code()
        self._keep_alive = parser.should_keep_alive()
        if exchange.head_only:  # a HEAD answer has no body, whatever its headers say
            self._finish(exchange)
        exchange.head.set_result(None)

    def on_body(self, body: bytes) -> None:
        exchange = self._current()
        if exchange is None:
            return
        exchange.chunks.append(body)
        exchange.buffered += len(body)
        if exchange.buffered > HIGH_WATER and self._transport is not None:
            self._transport.pause_reading()
            self._reading_paused = True
        exchange.wake()

    def on_message_complete(self) -> None:
        if (exchange := self._current()) is not None:
            self._finish(exchange)
            exchange.wake()

    # -------------------------------------------------------------------- the exchange

    @property
    def reusable(self) -> bool:
        """The last answer was read to its end and the service keeps the connection."""
        exchange = self._exchange
        return not self.closed and self._keep_alive and (exchange is None or exchange.complete)

    def begin(self, head_only: bool) -> Exchange:
        self._exchange = Exchange(head_only)
        self._parser = httptools.HttpResponseParser(self)
        self._keep_alive = False
        return self._exchange

    async def write(self, data: bytes, seconds: float | None) -> None:
        if self.closed or self._transport is None:
            raise httpx.WriteError(f"{self.origin} closed the connection")
        self._transport.write(data)
        if self._drained is not None:
            try:
                async with asyncio.timeout(seconds):
                    await self._drained
            except TimeoutError as exc:
                raise httpx.WriteTimeout(f"{self.origin} did not take the request") from exc

    async def head(self, exchange: Exchange, seconds: float | None) -> None:
        try:
            async with asyncio.timeout(seconds):
                await exchange.head
        except TimeoutError as exc:
            raise httpx.ReadTimeout(f"{self.origin} did not answer in time") from exc

    async def chunk(self, exchange: Exchange, seconds: float | None) -> bytes | None:
        """The next body chunk, or None at the end of the body."""
        while True:
            if exchange.chunks:
                chunk = exchange.chunks.popleft()
                exchange.buffered -= len(chunk)
                if self._reading_paused and exchange.buffered < LOW_WATER:
                    self._reading_paused = False
                    if self._transport is not None:
                        self._transport.resume_reading()
                return chunk
            if exchange.error is not None:
                raise exchange.error
            if exchange.complete:
                return None
            exchange.waiter = asyncio.get_running_loop().create_future()
            try:
                async with asyncio.timeout(seconds):
                    await exchange.waiter
            except TimeoutError as exc:
                raise httpx.ReadTimeout(f"{self.origin} stopped sending its answer") from exc
            finally:
                exchange.waiter = None

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            if self._transport is not None:
                self._transport.close()

    def _finish(self, exchange: Exchange) -> None:
        exchange.complete = True
        self._parser = None  # whatever the service sends now, nobody asked for
        self.idle_since = time.monotonic()

    def _fail(self, error: httpx.TransportError) -> None:
        if self._exchange is not None:
            self._exchange.fail(error)


def request_head(request: httpx.Request) -> bytes:
    """The request line and headers as they go on the wire. A line break inside a name
    or value (a header a client chose, passed on) is refused, as h11 refuses it: it
    would end the header there and start one the client wrote."""
    lines = [b"%s %s HTTP/1.1\r\n" % (request.method.encode("ascii"), request.url.raw_path)]
    for name, value in request.headers.raw:
        if _BREAKS.intersection(name) or _BREAKS.intersection(value):
            raise httpx.LocalProtocolError(f"Illegal character in header {name!r}.")
        lines.append(b"%s: %s\r\n" % (name, value))
    lines.append(b"\r\n")
    return b"".join(lines)


def is_chunked(request: httpx.Request) -> bool:
    encoding: str = request.headers.get("transfer-encoding", "")
    return encoding.lower().encode() == _CHUNKED
