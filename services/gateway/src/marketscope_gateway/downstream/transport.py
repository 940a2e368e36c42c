"""The transport of the gateway's downstream clients: aiohttp's connection pool and HTTP
parser behind ``httpx.AsyncClient``.

httpx's own transport (httpcore: h11 in Python, anyio streams, a pool that polls every
idle socket before each request) was the largest share of the gateway's CPU on the quote
path (bench/README.md, bench/gateway); aiohttp, already here through aiobotocore, keeps
connections alive with a C parser at a fraction of that. The clients keep httpx's API,
so tests hand in their own transports and the client instrumentation (spans,
``traceparent``) wraps this one as it wraps httpx's. What the callers rely on holds:

- ``httpx.Limits``: at most ``max_connections`` requests in flight, the others waiting up
  to the pool timeout (``PoolTimeout``); idle connections kept for ``keepalive_expiry``.
  aiohttp has no cap on idle connections of its own: at most ``max_connections`` are
  ever open, which is the cap;
- httpx's timeouts (connect, read, pool; aiohttp has no write timeout) and httpx's
  exceptions: a request the service drops unanswered is ``RemoteProtocolError``, nothing
  listening is ``ConnectError``, so `ServiceClient` maps them as it always has;
- request bodies as httpx encodes them (bytes, a stream with a length, chunked), answers
  streamed as they arrive (chat's event streams) and left encoded for httpx to decode;
- no cookie kept (one pool carries every user's calls), no redirect followed.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from functools import lru_cache

import aiohttp
import httpx

_SCHEMES = frozenset({"http", "https"})


@contextmanager
def _as_httpx_errors(request: httpx.Request) -> Iterator[None]:
    """aiohttp's exceptions as the httpx ones the same failure raises with httpcore."""
    try:
        yield
    except aiohttp.ConnectionTimeoutError as exc:
        raise httpx.ConnectTimeout(str(exc) or "connect timed out", request=request) from exc
    except (aiohttp.SocketTimeoutError, TimeoutError) as exc:
        raise httpx.ReadTimeout(str(exc) or "read timed out", request=request) from exc
    except aiohttp.ClientConnectorError as exc:
        raise httpx.ConnectError(str(exc), request=request) from exc
    except aiohttp.ServerDisconnectedError as exc:
        raise httpx.RemoteProtocolError(
            "Server disconnected without sending a response.", request=request
        ) from exc
    except aiohttp.ClientPayloadError as exc:
        raise httpx.RemoteProtocolError(str(exc), request=request) from exc
    except aiohttp.ClientResponseError as exc:  # an answer that is not HTTP
        raise httpx.RemoteProtocolError(str(exc), request=request) from exc
    except aiohttp.ClientOSError as exc:
        raise httpx.ReadError(str(exc), request=request) from exc
    except aiohttp.ClientError as exc:
        raise httpx.TransportError(str(exc), request=request) from exc


class _Answer(httpx.AsyncByteStream):
    """The body as aiohttp receives it; closing it returns the connection to the pool
    (read to its end) or closes it (not), and frees the request's slot."""

    def __init__(
        self, response: aiohttp.ClientResponse, request: httpx.Request, slot: asyncio.Semaphore
    ) -> None:
        self._response, self._request, self._slot = response, request, slot
        self._closed = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        with _as_httpx_errors(self._request):
            async for chunk in self._response.content.iter_any():
                yield chunk

    async def aclose(self) -> None:
        if not self._closed:
            self._closed = True
            self._response.release()
            self._slot.release()


@lru_cache(maxsize=64)
def _timeout(connect: float | None, read: float | None) -> aiohttp.ClientTimeout:
    """The few distinct timeouts the clients use, made once each."""
    return aiohttp.ClientTimeout(total=None, sock_connect=connect, sock_read=read)


def _unsafe(headers: httpx.Headers) -> bool:
    return any(
        b"\r" in name or b"\n" in name or b"\r" in value or b"\n" in value
        for name, value in headers.raw
    )


class PooledTransport(httpx.AsyncBaseTransport):
    def __init__(self, limits: httpx.Limits, *, ssl_context: ssl.SSLContext | None = None) -> None:
        self._limits = limits
        self._slots = asyncio.Semaphore(limits.max_connections or 2**31)
        self._ssl: ssl.SSLContext | bool = ssl_context if ssl_context is not None else True
        self._session: aiohttp.ClientSession | None = None

    def _pool(self) -> aiohttp.ClientSession:
        """Made on first use, in the event loop that serves the requests."""
        if self._session is None:
            connector = aiohttp.TCPConnector(
                limit=self._limits.max_connections or 0,
                limit_per_host=0,
                keepalive_timeout=self._limits.keepalive_expiry or 0,
                ssl=self._ssl,
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                cookie_jar=aiohttp.DummyCookieJar(),
                auto_decompress=False,
                timeout=aiohttp.ClientTimeout(total=None),
            )
        return self._session

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.scheme not in _SCHEMES:
            raise httpx.UnsupportedProtocol(f"Cannot reach {request.url}: http or https only.")
        if _unsafe(request.headers):
            raise httpx.LocalProtocolError("A header holds a line break.", request=request)
        timeouts: dict[str, float | None] = request.extensions.get("timeout", {})
        try:
            async with asyncio.timeout(timeouts.get("pool")):
                await self._slots.acquire()
        except TimeoutError:
            raise httpx.PoolTimeout("No connection came free in time.", request=request) from None
        try:
            response = await self._send(request, timeouts)
        except BaseException:
            self._slots.release()
            raise
        return httpx.Response(
            status_code=response.status,
            headers=response.raw_headers,
            stream=_Answer(response, request, self._slots),
            extensions={
                "http_version": b"HTTP/1.1",
                "reason_phrase": (response.reason or "").encode("latin-1"),
            },
        )

    async def _send(
        self, request: httpx.Request, timeouts: dict[str, float | None]
    ) -> aiohttp.ClientResponse:
        headers = request.headers.multi_items()
        chunked = request.headers.get("Transfer-Encoding", "").lower() == "chunked"
        if chunked:  # aiohttp frames the body itself, and refuses the header with it
            headers = [(k, v) for k, v in headers if k.lower() != "transfer-encoding"]
        body: bytes | httpx.AsyncByteStream | None
        try:
            body = request.content or None
        except httpx.RequestNotRead:  # a stream: with its length, or chunked
            body = request.stream  # type: ignore[assignment]
        with _as_httpx_errors(request):
            return await self._pool().request(
                request.method,
                str(request.url),
                headers=headers,
                data=body,
                chunked=chunked or None,
                allow_redirects=False,
                compress=None,
                timeout=_timeout(timeouts.get("connect"), timeouts.get("read")),
            )

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
