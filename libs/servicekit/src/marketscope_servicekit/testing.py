"""The contract every service's app is held to, written once (imported by tests only).

A service's test module subclasses `ServiceContract`, names its service, settings class,
``create_app`` and the readiness checks it declares, and inherits the tests.
"""

from __future__ import annotations

import re
import socket
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import ClassVar

import httpx
import pytest
from fastapi import FastAPI

from marketscope_platform.aws import AwsSettings
from marketscope_platform.topology import ServiceInfo
from marketscope_servicekit.settings import ServiceSettings

AppFactory = Callable[[ServiceSettings, AwsSettings], FastAPI]


@asynccontextmanager
async def running(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A client of ``app`` with its lifespan started (httpx's transport runs none)."""
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client


def unreachable_aws() -> AwsSettings:
    """An endpoint on a loopback port that nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return AwsSettings(endpoint_url=f"http://127.0.0.1:{port}", default_region="us-east-1")


class ServiceContract:
    service: ClassVar[ServiceInfo]
    settings_class: ClassVar[type[ServiceSettings]]

    # The subclass's defaults fill what the base class leaves required: build through it.
    def settings(self, **values: object) -> ServiceSettings:
        build: Callable[..., ServiceSettings] = self.settings_class
        return build(**values)

    create_app: ClassVar[AppFactory]
    readiness_checks: ClassVar[tuple[str, ...]]
    readme: ClassVar[Path]

    def make_app(self, aws: AwsSettings, **settings: object) -> FastAPI:
        return type(self).create_app(self.settings(**settings), aws)

    async def test_healthz_is_ok_without_aws(self) -> None:
        async with running(self.make_app(unreachable_aws())) as client:
            response = await client.get("/healthz")
        assert response.status_code == 200
        assert response.json() == {"status": "ok", "service": self.service.name}

    async def test_readyz_is_503_naming_the_unreachable_resources(self) -> None:
        app = self.make_app(unreachable_aws(), readiness_timeout=0.5)
        async with running(app) as client:
            response = await client.get("/readyz")
        assert response.status_code == 503
        assert response.headers["content-type"] == "application/problem+json"
        problem = response.json()
        assert problem["service"] == self.service.name
        assert sorted(problem["failed"]) == sorted(self.readiness_checks)

    def test_defaults_follow_the_topology(self) -> None:
        settings = self.settings()
        assert settings.host == "127.0.0.1"
        assert (settings.port, settings.table_name) == (self.service.port, self.service.table)
        assert getattr(settings, "queue_name", None) == (
            None if self.service.per_instance_queue else self.service.queue
        )

    def test_env_prefix_is_the_services(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv(f"{self.service.env_prefix}TABLE_NAME", "elsewhere")
        assert self.settings().table_name == "elsewhere"

    def test_readme_documents_exactly_the_settings(self) -> None:
        prefix = self.service.env_prefix
        pattern = rf"^\| `({prefix}[A-Z_]+)` \|"
        documented = set(re.findall(pattern, self.readme.read_text(), re.MULTILINE))
        expected = {prefix + field.upper() for field in self.settings_class.model_fields}
        assert documented == expected
