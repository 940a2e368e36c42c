"""Fixtures: the provisioned resources on the test emulator, and the app against them."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest

from marketscope_infra.appliers.context import Clients
from marketscope_infra.apply import apply, load_spec
from marketscope_market_data.main import create_app
from marketscope_market_data.providers import MarketDataProvider
from marketscope_market_data.settings import Settings
from marketscope_platform.aws import AwsSettings
from marketscope_servicekit import Identity, sign_identity
from marketscope_servicekit.identity import DEVELOPMENT_KEY

_provisioned: set[str] = set()


@pytest.fixture
async def provisioned(aws_endpoint: str) -> str:
    """The real resources (table, queue, DLQ, topics, rule) made once per emulator."""
    if aws_endpoint not in _provisioned:
        await asyncio.to_thread(apply, load_spec(), Clients(aws_endpoint, "us-east-1"))
        _provisioned.add(aws_endpoint)
    return aws_endpoint


def quiet_settings(**values: Any) -> Settings:
    """Settings without the embedded scheduler, poller and live loop (tests drive them)."""
    defaults: dict[str, Any] = {"embedded_scheduler": False, "live_refresh": False}
    return Settings(**{**defaults, **values})


AppClient = Callable[..., Any]


@pytest.fixture
def app_client(aws_settings: AwsSettings, provisioned: str) -> AppClient:
    @asynccontextmanager
    async def make(
        providers: Sequence[MarketDataProvider] | None = None, **settings: Any
    ) -> AsyncIterator[httpx.AsyncClient]:
        app = create_app(quiet_settings(**settings), aws_settings, providers=providers)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
                client.app = app  # type: ignore[attr-defined]
                yield client

    return make


def identity_headers(user: str, *roles: str) -> dict[str, str]:
    return sign_identity(DEVELOPMENT_KEY, Identity(user, frozenset(roles or ("user",))))
