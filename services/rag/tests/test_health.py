"""/healthz and /readyz of the rag service, with AWS pointed at a dead loopback port:
fast, and no emulator needed."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
from fastapi import FastAPI

from marketscope_events.aws import AwsSettings
from marketscope_events.topology import SERVICES
from marketscope_rag.main import create_app
from marketscope_rag.settings import Settings

SERVICE = SERVICES["rag"]


@asynccontextmanager
async def running(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A client of ``app`` with its lifespan started (httpx's transport runs none)."""
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client


@pytest.fixture
def unreachable_aws() -> AwsSettings:
    """An endpoint on a loopback port that nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return AwsSettings(endpoint_url=f"http://127.0.0.1:{port}", default_region="us-east-1")


async def test_healthz_is_ok_without_aws(unreachable_aws):
    async with running(create_app(aws_settings=unreachable_aws)) as client:
        response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "service": "rag"}


async def test_readyz_is_503_naming_the_unreachable_resources(unreachable_aws):
    app = create_app(Settings(readiness_timeout=0.5), unreachable_aws)
    async with running(app) as client:
        response = await client.get("/readyz")
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["service"] == "rag"
    assert "table" in problem["failed"]
    assert sorted(problem["failed"]) == ["bucket", "queue", "table"]
