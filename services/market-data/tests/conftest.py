"""Fixtures: the provisioned resources on the test emulator, and the app against them."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Generator, Sequence
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest

from marketscope_market_data.main import create_app
from marketscope_market_data.providers import MarketDataProvider
from marketscope_market_data.settings import Settings
from marketscope_platform.aws import AwsSettings
from marketscope_servicekit import Identity, sign_identity
from marketscope_servicekit.identity import DEVELOPMENT_KEY, USER_HEADER


def quiet_settings(**values: Any) -> Settings:
    """Settings without the embedded scheduler, consumer and live loop (tests drive them)."""
    defaults: dict[str, Any] = {"embedded_scheduler": False, "live_refresh": False}
    return Settings(**{**defaults, **values})


AppClient = Callable[..., Any]


class SignedAs(httpx.Auth):
    """Signs each request as the gateway would (every route needs it), unless the request
    carries an identity of its own; ``auth=None`` on a request sends it anonymous."""

    def __init__(self, user: str) -> None:
        self._user = user

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response]:
        if USER_HEADER not in request.headers:
            request.headers.update(identity_headers(self._user))
        yield request


@pytest.fixture
def app_client(aws_settings: AwsSettings, provisioned: str) -> AppClient:
    @asynccontextmanager
    async def make(
        providers: Sequence[MarketDataProvider] | None = None, **settings: Any
    ) -> AsyncIterator[httpx.AsyncClient]:
        app = create_app(quiet_settings(**settings), aws_settings, providers=providers)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(
                transport=transport, base_url="http://test", auth=SignedAs("market-data-test")
            ) as client:
                client.app = app  # type: ignore[attr-defined]
                yield client

    return make


def identity_headers(user: str, *roles: str) -> dict[str, str]:
    return sign_identity(DEVELOPMENT_KEY, Identity(user, frozenset(roles or ("user",))))
