"""How every service is served (``serve``), checked on a real uvicorn server over
loopback: forwarded headers count only from configured proxies, and WebSocket frames are
never compressed."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
import uvicorn
from fastapi import FastAPI, Request, WebSocket
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from marketscope_servicekit.calls import SERVER_KEEP_ALIVE_SECONDS, caller_limits
from marketscope_servicekit.serve import WS_MAX_FRAME_BYTES, uvicorn_options
from marketscope_servicekit.testing import free_port

from .conftest import DemoSettings

SPOOFED = "203.0.113.9"


def echo_app() -> FastAPI:
    app = FastAPI()

    @app.get("/client")
    async def client(request: Request) -> dict[str, str | None]:
        return {"host": request.client.host if request.client else None}

    @app.websocket("/ws")
    async def ws(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.send_text("hello")
        await websocket.send_text(f"read {len(await websocket.receive_text())}")
        await websocket.close()

    return app


@asynccontextmanager
async def served(settings: DemoSettings) -> AsyncIterator[str]:
    """``echo_app`` under uvicorn with the options every service is served with."""
    server = uvicorn.Server(uvicorn.Config(echo_app(), **uvicorn_options(settings)))
    task = asyncio.create_task(server.serve())
    try:
        async with asyncio.timeout(10):
            # uvicorn offers no event to wait on.
            while not server.started:  # noqa: ASYNC110
                await asyncio.sleep(0.02)
        yield f"127.0.0.1:{settings.port}"
    finally:
        server.should_exit = True
        await task


async def client_host(address: str) -> str:
    async with httpx.AsyncClient(base_url=f"http://{address}") as client:
        response = await client.get("/client", headers={"X-Forwarded-For": SPOOFED})
    host: str = response.json()["host"]
    return host


async def test_forwarded_headers_from_loopback_are_ignored_by_default() -> None:
    async with served(DemoSettings(port=free_port())) as address:
        assert await client_host(address) == "127.0.0.1"


async def test_forwarded_headers_count_from_a_configured_proxy() -> None:
    settings = DemoSettings(port=free_port(), trusted_proxies=["127.0.0.1"])
    async with served(settings) as address:
        assert await client_host(address) == SPOOFED


def test_trusted_proxies_read_a_comma_separated_list(monkeypatch: pytest.MonkeyPatch) -> None:
    class Prefixed(DemoSettings, env_prefix="MARKETSCOPE_DEMO_"):
        pass

    assert Prefixed().trusted_proxies == []
    monkeypatch.setenv("MARKETSCOPE_DEMO_TRUSTED_PROXIES", "10.0.0.5, 10.0.1.0/24")
    assert Prefixed().trusted_proxies == ["10.0.0.5", "10.0.1.0/24"]


async def test_websocket_frames_are_not_compressed_even_when_the_client_offers() -> None:
    async with (
        served(DemoSettings(port=free_port())) as address,
        connect(f"ws://{address}/ws", compression="deflate") as websocket,
    ):
        assert await websocket.recv() == "hello"
        assert websocket.response is not None
        assert "Sec-WebSocket-Extensions" not in websocket.response.headers


async def test_a_websocket_frame_over_the_limit_is_refused_before_the_app_reads_it() -> None:
    async with (
        served(DemoSettings(port=free_port())) as address,
        connect(f"ws://{address}/ws") as websocket,
    ):
        assert await websocket.recv() == "hello"
        await websocket.send("x" * (WS_MAX_FRAME_BYTES + 1))
        with pytest.raises(ConnectionClosed) as closed:
            await websocket.recv()
        assert closed.value.rcvd is not None
        assert closed.value.rcvd.code == 1009  # message too big


async def test_a_websocket_frame_within_the_limit_reaches_the_app() -> None:
    async with (
        served(DemoSettings(port=free_port())) as address,
        connect(f"ws://{address}/ws") as websocket,
    ):
        assert await websocket.recv() == "hello"
        await websocket.send("x" * 4096)
        assert await websocket.recv() == "read 4096"


async def test_an_idle_connection_outlives_uvicorns_default_keep_alive() -> None:
    """uvicorn closes an idle connection after 5 s by default, the instant httpx's pool
    would reuse it; a service keeps it for longer than its callers keep theirs."""
    caller_expiry = caller_limits().keepalive_expiry
    assert caller_expiry is not None
    assert caller_expiry < SERVER_KEEP_ALIVE_SECONDS
    request = b"GET /client HTTP/1.1\r\nHost: service\r\n\r\n"
    async with served(DemoSettings(port=free_port())) as address:
        host, port = address.split(":")
        reader, writer = await asyncio.open_connection(host, int(port))
        try:
            for _ in range(2):
                writer.write(request)
                await writer.drain()
                status = await asyncio.wait_for(reader.readline(), 5)
                assert status.startswith(b"HTTP/1.1 200"), status
                await asyncio.wait_for(reader.readuntil(b'"127.0.0.1"}'), 5)
                await asyncio.sleep(6)  # idle past uvicorn's default of 5 s
        finally:
            writer.close()
