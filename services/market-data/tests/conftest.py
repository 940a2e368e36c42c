"""Fixtures: the provisioned resources on the test emulator, and the app against them."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest

from marketscope_market_data.main import create_app
from marketscope_market_data.providers import MarketDataProvider
from marketscope_market_data.settings import Settings
from marketscope_platform.aws import AwsSettings
from marketscope_servicekit import Identity
from marketscope_servicekit.testing import GatewaySigner
from marketscope_servicekit.testing import identity_headers as identity_headers


def quiet_settings(**values: Any) -> Settings:
    """Settings without the embedded scheduler, consumer and live loop (tests drive them)."""
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
            async with httpx.AsyncClient(
                transport=transport,
                base_url="http://test",
                # Every route needs the signed identity: as the one a request names
                # (identity_headers), else this one; ``auth=None`` sends it anonymous.
                auth=GatewaySigner(app.state.internal_key, Identity("market-data-test")),
            ) as client:
                client.app = app  # type: ignore[attr-defined]
                yield client

    return make
