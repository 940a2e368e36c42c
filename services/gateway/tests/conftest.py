"""Gateway test fixtures: the provisioned emulator and a running gateway with its
lifespan, in front of the fake services of ``fakes.py``."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from marketscope_gateway.main import create_app
from marketscope_gateway.settings import Settings
from marketscope_platform.aws import AwsSettings
from marketscope_servicekit.testing import served

from .fakes import FakeChat, FakeMarketData, FakeNotifier, FakeRag

SIGNING_KEY = "test-signing-key-" + "x" * 32
PASSWORD = "correct horse battery"


def random_ip() -> str:
    """A client address of its own, so IP-scoped counters never leak between tests."""
    return f"10.{random.randint(0, 255)}.{random.randint(0, 255)}.{random.randint(1, 254)}"


@dataclass
class RunningGateway:
    app: FastAPI
    client: httpx.AsyncClient
    market_data: FakeMarketData
    rag: FakeRag
    chat: FakeChat
    url: str = "http://gw"  # a served gateway's own base URL
    notifier: FakeNotifier = field(default_factory=FakeNotifier)

    async def register(self, email: str | None = None) -> tuple[str, str]:
        email = email or f"user-{uuid.uuid4().hex[:12]}@example.com"
        response = await self.client.post(
            "/api/v1/auth/register", json={"email": email, "password": PASSWORD}
        )
        assert response.status_code == 201, response.text
        return email, response.json()["user_id"]

    async def login(self, email: str, password: str = PASSWORD) -> httpx.Response:
        return await self.client.post(
            "/api/v1/auth/login", json={"email": email, "password": password}
        )

    async def user(self) -> tuple[str, dict[str, str], dict[str, Any]]:
        """A new account, logged in: its email, auth header and token pair."""
        email, _ = await self.register()
        tokens = (await self.login(email)).json()
        return email, {"Authorization": f"Bearer {tokens['access_token']}"}, tokens

    async def api_key(self, auth: dict[str, str], name: str = "script") -> dict[str, Any]:
        """A new API key of the user ``auth`` names, as created through the API."""
        response = await self.client.post("/api/v1/api-keys", json={"name": name}, headers=auth)
        assert response.status_code == 201, response.text
        created: dict[str, Any] = response.json()
        return created


MakeGateway = Callable[..., AbstractAsyncContextManager[RunningGateway]]


def gateway_settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "jwt_signing_key": SIGNING_KEY,
        "instance_id": f"test-{uuid.uuid4().hex[:10]}",
        "rate_limit_per_user": "10000/minute",
        "rate_limit_per_ip": "10000/minute",
        # Every served gateway sees 127.0.0.1, and the table outlives a test: the
        # per-IP login and registration throttles are tested on their own, with
        # addresses of their own.
        "login_failures_per_ip": 1_000_000,
        "registrations_per_ip": 1_000_000,
        **overrides,
    }
    return Settings(**values)


@pytest.fixture
def make_gateway(provisioned: str, aws_settings: AwsSettings) -> MakeGateway:
    @asynccontextmanager
    async def running(
        *,
        market_data: FakeMarketData | None = None,
        rag: FakeRag | None = None,
        chat: FakeChat | None = None,
        notifier: FakeNotifier | None = None,
        transports: dict[str, httpx.AsyncBaseTransport] | None = None,
        client_ip: str | None = None,
        **overrides: Any,
    ) -> AsyncIterator[RunningGateway]:
        market_data = market_data or FakeMarketData()
        rag = rag or FakeRag()
        chat = chat or FakeChat()
        notifier = notifier or FakeNotifier()
        downstream: dict[str, httpx.AsyncBaseTransport] = {
            "market-data": httpx.ASGITransport(app=market_data.app()),
            "rag": httpx.ASGITransport(app=rag.app()),
            # In process: httpx reads an ASGI app's answer whole, so streams arrive at
            # once here; make_served_gateway streams them for real.
            "chat": httpx.ASGITransport(app=chat.app()),
            "notifier": httpx.ASGITransport(app=notifier.app()),
            **(transports or {}),
        }
        app = create_app(gateway_settings(**overrides), aws_settings, transports=downstream)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app, client=(client_ip or random_ip(), 50000))
            async with httpx.AsyncClient(transport=transport, base_url="http://gw") as client:
                yield RunningGateway(app, client, market_data, rag, chat, notifier=notifier)

    return running


@pytest.fixture
def make_served_gateway(provisioned: str, aws_settings: AwsSettings) -> MakeGateway:
    """A gateway behind uvicorn, its instance queue subscribed; yields a RunningGateway
    whose client talks HTTP to it. The fake chat is served over HTTP too (on a loopback
    port of its own), so its streams reach the gateway, and the client, as they are sent."""

    @asynccontextmanager
    async def running(
        *, chat: FakeChat | None = None, notifier: FakeNotifier | None = None, **overrides: Any
    ) -> AsyncIterator[RunningGateway]:
        market_data, rag, chat = FakeMarketData(), FakeRag(), chat or FakeChat()
        notifier = notifier or FakeNotifier()
        downstream: dict[str, httpx.AsyncBaseTransport] = {
            "market-data": httpx.ASGITransport(app=market_data.app()),
            "rag": httpx.ASGITransport(app=rag.app()),
            "notifier": httpx.ASGITransport(app=notifier.app()),
        }
        async with AsyncExitStack() as stack:
            chat_url = await stack.enter_async_context(served(chat.app()))
            settings = gateway_settings(chat_url=chat_url, **overrides)
            app = create_app(settings, aws_settings, transports=downstream)
            url = await stack.enter_async_context(served(app))
            client = await stack.enter_async_context(httpx.AsyncClient(base_url=url))
            await asyncio.wait_for(app.state.components.live_feed.subscribed.wait(), timeout=30)
            yield RunningGateway(app, client, market_data, rag, chat, url, notifier)

    return running
