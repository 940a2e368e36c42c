"""Apps built by ``create_service_app`` with fake readiness checks: no AWS involved."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager

import httpx
import pytest
from fastapi import FastAPI

from marketscope_platform.aws import AwsClients
from marketscope_servicekit import ReadinessCheck, ServiceSettings, create_service_app
from marketscope_servicekit.testing import no_components

CHECK_TIMEOUT = 0.2


class DemoSettings(ServiceSettings):
    port: int = 18999
    table_name: str = "demo-table"
    readiness_timeout: float = CHECK_TIMEOUT


@asynccontextmanager
async def _running(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    # httpx's ASGI transport does not run lifespans; the app needs its startup.
    async with app.router.lifespan_context(app):
        # 500 responses are what the tests look at, not the exception Starlette re-raises.
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client


@pytest.fixture
def make_app() -> Callable[[Sequence[ReadinessCheck]], FastAPI]:
    def build(checks: Sequence[ReadinessCheck]) -> FastAPI:
        def readiness_checks(_aws: AwsClients, _components: object) -> Sequence[ReadinessCheck]:
            return checks

        return create_service_app(
            "demo", DemoSettings(), build=no_components, readiness_checks=readiness_checks
        )

    return build


@pytest.fixture
def check_timeout() -> float:
    return CHECK_TIMEOUT


@pytest.fixture
def running() -> Callable[[FastAPI], AbstractAsyncContextManager[httpx.AsyncClient]]:
    return _running
