"""The downstream transport (aiohttp's pool behind httpx) against a scripted loopback
HTTP/1.1 server: connections kept alive and reused, the pool's limits and timeouts, a
connection the service closed (idle, or as the request went out), streamed and chunked
answers, request bodies of each kind, HEAD, ``Connection: close``, cancellation, refused
headers, and the same under uvloop."""

from __future__ import annotations

import asyncio
import gzip
import hashlib
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import httpx
import pytest
import uvloop

from marketscope_gateway.downstream import MarketDataClient, RagClient
from marketscope_gateway.downstream.transport import PooledTransport
from marketscope_gateway.errors import DownstreamUnavailable
from marketscope_servicekit import Identity

from .test_downstream import DroppingService

Reader, Writer = asyncio.StreamReader, asyncio.StreamWriter
Serve = Callable[["Scripted", Reader, Writer], Awaitable[None]]


class Scripted:
    """Hands every connection to ``serve``; counts connections, keeps request lines."""

    def __init__(self, serve: Serve) -> None:
        self.serve = serve
        self.connections = 0
        self.requests: list[tuple[bytes, dict[bytes, bytes], bytes]] = []

    async def handle(self, reader: Reader, writer: Writer) -> None:
        self.connections += 1
        try:
            await self.serve(self, reader, writer)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def request(self, reader: Reader) -> tuple[bytes, dict[bytes, bytes], bytes]:
        """One request off the connection: its line, headers (lower-case) and body."""
        head = await reader.readuntil(b"\r\n\r\n")
        line, *fields = head[:-4].split(b"\r\n")
        headers = {k.strip().lower(): v.strip() for k, _, v in (f.partition(b":") for f in fields)}
        if headers.get(b"transfer-encoding") == b"chunked":
            body = b""
            while size := int((await reader.readuntil(b"\r\n"))[:-2], 16):
                body += (await reader.readexactly(size + 2))[:-2]
            await reader.readuntil(b"\r\n")
        else:
            body = await reader.readexactly(int(headers.get(b"content-length", b"0")))
        self.requests.append((line, headers, body))
        return line, headers, body


def answer(body: bytes = b"ok", *, status: bytes = b"200 OK", extra: bytes = b"") -> bytes:
    return b"HTTP/1.1 %s\r\ncontent-length: %d\r\n%s\r\n%s" % (status, len(body), extra, body)


async def echo_forever(server: Scripted, reader: Reader, writer: Writer) -> None:
    """Answers every request with its line, then the SHA-256 of its body."""
    while True:
        line, _, body = await server.request(reader)
        writer.write(answer(line + b" " + hashlib.sha256(body).hexdigest().encode()))
        await writer.drain()


@asynccontextmanager
async def serving(
    serve: Serve, **limits: float | int | None
) -> AsyncIterator[tuple[Scripted, httpx.AsyncClient]]:
    scripted = Scripted(serve)
    server = await asyncio.start_server(scripted.handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    pool = httpx.Limits(
        max_connections=int(limits.get("max_connections") or 10),
        max_keepalive_connections=5,
        keepalive_expiry=limits.get("keepalive_expiry", 30.0),
    )
    client = httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{port}",
        transport=PooledTransport(pool),
        timeout=httpx.Timeout(5.0, pool=limits.get("pool_timeout", 5.0)),
    )
    async with server, client:
        yield scripted, client


async def test_sequential_requests_share_one_kept_alive_connection() -> None:
    async with serving(echo_forever) as (server, client):
        answers = [await client.get(f"/quotes/{n}?x=1") for n in range(5)]
    assert [a.text.split()[1] for a in answers] == [f"/quotes/{n}?x=1" for n in range(5)]
    assert all(a.status_code == 200 and a.http_version == "HTTP/1.1" for a in answers)
    assert server.connections == 1


async def test_requests_in_flight_are_bounded_by_max_connections() -> None:
    in_flight = peak = 0

    async def slow(server: Scripted, reader: Reader, writer: Writer) -> None:
        nonlocal in_flight, peak
        while True:
            await server.request(reader)
            in_flight += 1
            peak = max(peak, in_flight)
            await asyncio.sleep(0.02)
            in_flight -= 1
            writer.write(answer())
            await writer.drain()

    async with serving(slow, max_connections=2) as (server, client):
        answers = await asyncio.gather(*(client.get("/") for _ in range(8)))
    assert [a.status_code for a in answers] == [200] * 8
    assert peak == 2
    assert server.connections == 2


async def test_a_full_pool_answers_pool_timeout() -> None:
    async def stalls(server: Scripted, reader: Reader, writer: Writer) -> None:
        await server.request(reader)
        await asyncio.sleep(10)

    async with serving(stalls, max_connections=1, pool_timeout=0.05) as (_, client):
        held = asyncio.create_task(client.get("/held"))
        await asyncio.sleep(0.05)
        with pytest.raises(httpx.PoolTimeout):
            await client.get("/waits")
        held.cancel()


async def test_an_idle_connection_the_service_closed_is_replaced_without_an_error() -> None:
    async def one_answer_per_connection(server: Scripted, reader: Reader, writer: Writer) -> None:
        await server.request(reader)
        writer.write(answer())  # keep-alive, as far as the client can tell
        await writer.drain()
        # and then closed while idle, as a service does after its keep-alive timeout

    async with serving(one_answer_per_connection) as (server, client):
        first = await client.get("/")
        await asyncio.sleep(0.05)  # the close reaches the client's event loop
        second = await client.get("/")
    assert (first.status_code, second.status_code) == (200, 200)
    assert server.connections == 2


async def test_a_request_the_service_drops_unanswered_is_remote_protocol_error() -> None:
    async def drops(server: Scripted, reader: Reader, writer: Writer) -> None:
        await server.request(reader)

    async with serving(drops) as (_, client):
        with pytest.raises(httpx.RemoteProtocolError, match="without sending a response"):
            await client.get("/")


@asynccontextmanager
async def dropping_client() -> AsyncIterator[tuple[DroppingService, httpx.AsyncClient]]:
    service = DroppingService()
    server = await asyncio.start_server(service.handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    transport = PooledTransport(httpx.Limits(max_connections=10))
    async with (
        server,
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", transport=transport) as http,
    ):
        yield service, http


async def test_a_get_on_a_connection_dropped_as_it_was_sent_is_sent_again() -> None:
    async with dropping_client() as (service, http):
        client = MarketDataClient(http, "k" * 48)
        first = await client.watchlist(Identity("u1"))
        second = await client.watchlist(Identity("u1"))  # sent on the one about to drop
    assert (first.status_code, second.status_code) == (200, 200)
    assert service.connections == 2
    assert service.requests == [b"GET /watchlists/u1 HTTP/1.1"] * 3


async def test_a_post_on_a_connection_dropped_as_it_was_sent_is_not_sent_twice() -> None:
    async with dropping_client() as (service, http):
        rag = RagClient(http, "k" * 48)
        await rag.documents(Identity("u1"))
        with pytest.raises(DownstreamUnavailable):
            await rag.search(Identity("u1"), {"query": "margins"})
    assert service.requests == [b"GET /documents HTTP/1.1", b"POST /search HTTP/1.1"]


async def test_a_chunked_answer_streams_as_it_arrives() -> None:
    first_read = asyncio.Event()

    async def streams(server: Scripted, reader: Reader, writer: Writer) -> None:
        await server.request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nfirst\r\n")
        await writer.drain()
        await first_read.wait()  # the rest only once the client has the first part
        writer.write(b"6\r\nsecond\r\n0\r\n\r\n")
        await writer.drain()
        await server.request(reader)
        writer.write(answer(b"next"))
        await writer.drain()

    async with serving(streams) as (server, client):
        async with client.stream("GET", "/stream") as response:
            parts = []
            async for chunk in response.aiter_raw():
                parts.append(chunk)
                first_read.set()
        after = await client.get("/after")
    assert parts == [b"first", b"second"]
    assert after.text == "next"
    assert server.connections == 1  # read to its end: kept


async def test_request_bodies_go_as_bytes_streams_with_a_length_and_chunked() -> None:
    async def parts() -> AsyncIterator[bytes]:
        for part in (b"a" * 70_000, b"", b"b" * 10):
            yield part

    payload = b"a" * 70_000 + b"b" * 10
    digest = hashlib.sha256(payload).hexdigest()
    async with serving(echo_forever) as (server, client):
        as_bytes = await client.post("/bytes", content=payload)
        sized = await client.put(
            "/sized", content=parts(), headers={"Content-Length": str(len(payload))}
        )
        chunked = await client.post("/chunked", content=parts())
    assert [r.text.split()[-1] for r in (as_bytes, sized, chunked)] == [digest] * 3
    headers = [request[1] for request in server.requests]
    assert headers[0][b"content-length"] == headers[1][b"content-length"] == b"70010"
    assert headers[2][b"transfer-encoding"] == b"chunked"
    assert server.connections == 1


async def test_a_service_that_does_not_answer_in_time_is_read_timeout() -> None:
    async def silent(server: Scripted, reader: Reader, writer: Writer) -> None:
        await server.request(reader)
        await asyncio.sleep(10)

    async with serving(silent) as (_, client):
        with pytest.raises(httpx.ReadTimeout):
            await client.get("/", timeout=httpx.Timeout(5.0, read=0.05))


async def test_nothing_listening_is_connect_error() -> None:
    server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()
    transport = PooledTransport(httpx.Limits(max_connections=1))
    async with httpx.AsyncClient(transport=transport) as client:
        with pytest.raises(httpx.ConnectError):
            await client.get(f"http://127.0.0.1:{port}/")
        # the slot came back: a second attempt fails the same way, not with PoolTimeout
        with pytest.raises(httpx.ConnectError):
            await client.get(f"http://127.0.0.1:{port}/", timeout=httpx.Timeout(1, pool=0.05))


async def test_connection_close_expiry_and_head_decide_what_is_kept() -> None:
    async def varied(server: Scripted, reader: Reader, writer: Writer) -> None:
        while True:
            line, _, _ = await server.request(reader)
            if line.startswith(b"HEAD"):  # a length, and no body: as HTTP says for HEAD
                writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 1234\r\n\r\n")
            elif b"/close" in line:
                writer.write(answer(b"bye", extra=b"connection: close\r\n"))
                await writer.drain()
                return
            else:
                writer.write(answer())
            await writer.drain()

    async with serving(varied, keepalive_expiry=0.05) as (server, client):
        head = await client.head("/")
        assert (head.status_code, head.content) == (200, b"")
        await client.get("/")
        assert server.connections == 1  # HEAD's connection was kept
        assert (await client.get("/close")).text == "bye"
        await client.get("/")
        assert server.connections == 2  # not reused after Connection: close
        await asyncio.sleep(0.1)
        await client.get("/")
        assert server.connections == 3  # idle longer than keepalive_expiry: not reused


async def test_a_stream_closed_early_or_a_cancelled_call_frees_its_slot() -> None:
    async def endless(server: Scripted, reader: Reader, writer: Writer) -> None:
        line, _, _ = await server.request(reader)
        if b"/slow" in line:
            await asyncio.sleep(10)
        writer.write(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n")
        await writer.drain()
        await asyncio.sleep(10)

    async with serving(endless, max_connections=1, pool_timeout=1.0) as (server, client):
        async with client.stream("GET", "/") as response:
            async for _ in response.aiter_raw():
                break  # the caller stops reading: the connection cannot be reused
        call = asyncio.create_task(client.get("/slow"))
        await asyncio.sleep(0.05)
        call.cancel()
        with pytest.raises(asyncio.CancelledError):
            await call
        async with client.stream("GET", "/") as again:
            assert again.status_code == 200
    assert server.connections == 3


async def test_a_header_with_a_line_break_is_refused_before_anything_is_sent() -> None:
    async with serving(echo_forever) as (server, client):
        with pytest.raises(httpx.LocalProtocolError):
            await client.post(
                "/", content=b"x", headers={"Content-Type": "text/plain\r\nX-Injected: 1"}
            )
    assert server.requests == []


async def test_a_malformed_answer_is_remote_protocol_error() -> None:
    async def garbage(server: Scripted, reader: Reader, writer: Writer) -> None:
        await server.request(reader)
        writer.write(b"HTTP/1.1 abc nonsense\r\n\r\n")
        await writer.drain()
        await asyncio.sleep(1)

    async with serving(garbage) as (_, client):
        with pytest.raises(httpx.RemoteProtocolError):
            await client.get("/")


async def test_a_gzipped_answer_is_decoded_as_httpx_decodes_it() -> None:
    packed = gzip.compress(b'{"symbol": "AAPL"}')

    async def gzipped(server: Scripted, reader: Reader, writer: Writer) -> None:
        await server.request(reader)
        writer.write(answer(packed, extra=b"content-encoding: gzip\r\n"))
        await writer.drain()

    async with serving(gzipped) as (_, client):
        response = await client.get("/")
    assert response.json() == {"symbol": "AAPL"}


def test_under_uvloop_connections_are_kept_and_answers_stream() -> None:
    async def scenario() -> None:
        await test_sequential_requests_share_one_kept_alive_connection()
        await test_a_chunked_answer_streams_as_it_arrives()
        await test_an_idle_connection_the_service_closed_is_replaced_without_an_error()

    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(scenario())
