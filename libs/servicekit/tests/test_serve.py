"""How every service is served (``serve``), checked on a real uvicorn server over
loopback: forwarded headers count only from configured proxies, and WebSocket frames are
never compressed."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
import uvicorn
from fastapi import FastAPI, Request, WebSocket
from websockets.asyncio.client import connect

from marketscope_servicekit.serve import uvicorn_options

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
        await websocket.close()

    return app


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


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
