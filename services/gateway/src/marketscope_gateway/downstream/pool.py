"""The transport of the gateway's downstream clients: a pool of kept-alive HTTP/1.1
connections (`connection.Connection`) behind ``httpx.AsyncClient``.

httpx's own transport (httpcore: h11 in Python, anyio streams, and a pool that polls
every idle socket before each request) was the largest share of the gateway's CPU on the
quote path (bench/README.md, bench/gateway). This one keeps what the clients rely on and
drops the rest:

- the client's ``httpx.Limits``: at most ``max_connections`` requests in flight (the
  others wait, up to the pool timeout), at most ``max_keepalive_connections`` idle ones
  kept, each for at most ``keepalive_expiry`` seconds, newest first (the warmest);
- httpx's per-phase timeouts (connect, write, read, pool) and httpx's exceptions, so a
  caller cannot tell this transport from httpx's: a request sent on a connection the
  service closed at that instant fails with ``RemoteProtocolError`` before any answer,
  as `ServiceClient` expects;
- request bodies as httpx encodes them (bytes, a stream with a length, chunked), answers
  streamed as they arrive (chat's event streams), TLS for an ``https`` service.

An idle connection the service closes is forgotten the moment the event loop reports it,
not looked for on every request. The client instrumentation (spans, ``traceparent``)
wraps this transport as it wraps httpx's.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import AsyncIterator

import httpx

from marketscope_gateway.downstream.connection import (
    Connection,
    Exchange,
    is_chunked,
    request_head,
)

_DEFAULT_PORTS = {"http": 80, "https": 443}


class KeepAliveTransport(httpx.AsyncBaseTransport):
    def __init__(self, limits: httpx.Limits, *, ssl_context: ssl.SSLContext | None = None) -> None:
        self._slots = asyncio.Semaphore(limits.max_connections or 2**31)
        self._max_idle = (
            limits.max_keepalive_connections
            if limits.max_keepalive_connections is not None
            else 2**31
        )
        self._expiry = limits.keepalive_expiry
        self._ssl_context = ssl_context
        self._idle: dict[str, list[Connection]] = {}
        self._idle_count = 0
        self._closed = False

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.scheme not in _DEFAULT_PORTS:
            raise httpx.UnsupportedProtocol(f"Cannot reach {request.url}: http or https only.")
        timeouts: dict[str, float | None] = request.extensions.get("timeout", {})
        await self._take_slot(timeouts.get("pool"))
        connection: Connection | None = None
        try:
            connection = self._idle_connection(_origin(request.url))
            if connection is None:
                connection = await self._connect(request.url, timeouts.get("connect"))
            exchange = connection.begin(head_only=request.method == "HEAD")
            await self._send(connection, request, timeouts.get("write"))
            await connection.head(exchange, timeouts.get("read"))
        except BaseException:
            if connection is not None:
                connection.close()
            self._slots.release()
            raise
        return httpx.Response(
            exchange.status,
            headers=exchange.headers,
            stream=Body(self, connection, exchange, timeouts.get("read")),
            extensions={"http_version": b"HTTP/1.1", "reason_phrase": exchange.reason},
        )

    async def aclose(self) -> None:
        self._closed = True
        for connections in self._idle.values():
            for connection in list(connections):
                connection.close()
        self._idle.clear()
        self._idle_count = 0

    # ------------------------------------------------------------------------- the pool

    async def _take_slot(self, seconds: float | None) -> None:
        try:
            async with asyncio.timeout(seconds):
                await self._slots.acquire()
        except TimeoutError as exc:
            raise httpx.PoolTimeout("No connection to the service came free in time.") from exc

    def _idle_connection(self, origin: str) -> Connection | None:
        idle = self._idle.get(origin)
        now = time.monotonic()
        while idle:
            connection = idle.pop()
            self._idle_count -= 1
            if connection.closed:
                continue
            if self._expiry is not None and now - connection.idle_since > self._expiry:
                connection.close()
                continue
            return connection
        return None

    def release(self, connection: Connection) -> None:
        """The answer on ``connection`` is done with (read, or abandoned): its slot frees,
        and the connection is kept for the next request when it can be."""
        self._slots.release()
        if self._closed or not connection.reusable or self._idle_count >= self._max_idle:
            connection.close()
            return
        self._idle.setdefault(connection.origin, []).append(connection)
        self._idle_count += 1

    def _forget(self, connection: Connection) -> None:
        """The connection closed: an idle one leaves the pool at once."""
        idle = self._idle.get(connection.origin)
        if idle and connection in idle:
            idle.remove(connection)
            self._idle_count -= 1

    async def _connect(self, url: httpx.URL, seconds: float | None) -> Connection:
        loop = asyncio.get_running_loop()
        host, port = url.host, url.port or _DEFAULT_PORTS[url.scheme]
        secure = url.scheme == "https"
        if secure and self._ssl_context is None:
            self._ssl_context = httpx.create_ssl_context()
        try:
            async with asyncio.timeout(seconds):
                _, connection = await loop.create_connection(
                    lambda: Connection(_origin(url), self._forget),
                    host,
                    port,
                    ssl=self._ssl_context if secure else None,
                    server_hostname=host if secure else None,
                )
        except TimeoutError as exc:
            raise httpx.ConnectTimeout(f"Connecting to {host}:{port} timed out.") from exc
        except OSError as exc:
            raise httpx.ConnectError(f"Cannot connect to {host}:{port}: {exc}") from exc
        return connection

    # ----------------------------------------------------------------------- a request

    async def _send(
        self, connection: Connection, request: httpx.Request, seconds: float | None
    ) -> None:
        head = request_head(request)
        try:
            body = request.content
        except httpx.RequestNotRead:  # a stream: written as it is read
            await connection.write(head, seconds)
            await self._stream_body(connection, request, seconds)
            return
        await connection.write(head + body, seconds)

    @staticmethod
    async def _stream_body(
        connection: Connection, request: httpx.Request, seconds: float | None
    ) -> None:
        assert isinstance(request.stream, httpx.AsyncByteStream)
        chunked = is_chunked(request)
        async for chunk in request.stream:
            if not chunk:
                continue
            if chunked:
                chunk = b"%x\r\n%s\r\n" % (len(chunk), chunk)
            await connection.write(chunk, seconds)
        if chunked:
            await connection.write(b"0\r\n\r\n", seconds)


class Body(httpx.AsyncByteStream):
    """An answer's body as it arrives; closing it hands its connection back."""

    def __init__(
        self,
        pool: KeepAliveTransport,
        connection: Connection,
        exchange: Exchange,
        read_timeout: float | None,
    ) -> None:
        self._pool = pool
        self._connection = connection
        self._exchange = exchange
        self._timeout = read_timeout
        self._released = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while (chunk := await self._connection.chunk(self._exchange, self._timeout)) is not None:
            yield chunk

    async def aclose(self) -> None:
        if not self._released:
            self._released = True
            self._pool.release(self._connection)


def _origin(url: httpx.URL) -> str:
    return f"{url.scheme}://{url.host}:{url.port or _DEFAULT_PORTS[url.scheme]}"
