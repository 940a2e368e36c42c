from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import httpx
import pytest
from botocore.exceptions import ClientError

from marketscope_servicekit import ReadinessCheck, create_service_app
from marketscope_servicekit.health import run_checks
from marketscope_servicekit.testing import no_components

from .conftest import DemoSettings


def passing(name: str) -> ReadinessCheck:
    async def probe() -> None:
        return None

    return ReadinessCheck(name, probe)


def failing(name: str, exc: Exception) -> ReadinessCheck:
    async def probe() -> None:
        raise exc

    return ReadinessCheck(name, probe)


def hanging(name: str) -> ReadinessCheck:
    async def probe() -> None:
        await asyncio.sleep(3600)

    return ReadinessCheck(name, probe)


def missing_table() -> ClientError:
    error = {"Error": {"Code": "ResourceNotFoundException", "Message": "arn:aws:secret"}}
    return ClientError(error, "DescribeTable")  # type: ignore[arg-type]


async def test_healthz_is_ok_even_when_dependencies_are_down(make_app, running):
    app = make_app([failing("table", ConnectionError("down"))])
    async with running(app) as client:
        response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "service": "demo"}


async def test_readyz_is_200_with_each_result_when_all_pass(make_app, running):
    app = make_app([passing("table"), passing("queue")])
    async with running(app) as client:
        response = await client.get("/readyz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ready"
    assert body["service"] == "demo"
    assert [(check["name"], check["ok"]) for check in body["checks"]] == [
        ("table", True),
        ("queue", True),
    ]


async def test_readyz_is_503_naming_the_failed_checks(make_app, running, check_timeout):
    app = make_app([failing("table", missing_table()), passing("queue"), hanging("bucket")])
    async with running(app) as client:
        response = await client.get("/readyz")
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["title"] == "Service Unavailable"
    assert problem["failed"] == ["table", "bucket"]
    assert "table, bucket" in problem["detail"]
    errors = {check["name"]: check["error"] for check in problem["checks"]}
    assert errors == {
        "table": "ResourceNotFoundException",
        "queue": None,
        "bucket": f"timed out after {check_timeout:g}s",
    }
    assert "arn:aws:secret" not in response.text


async def test_readyz_is_503_until_the_lifespan_has_started(make_app):
    app = make_app([passing("table")])
    transport = httpx.ASGITransport(app=app)  # runs no lifespan
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        response = await client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["detail"] == "The service has not finished starting."


async def test_checks_run_concurrently_each_with_its_timeout():
    checks = [hanging("a"), hanging("b"), hanging("c"), passing("d")]
    started = time.perf_counter()
    results = await run_checks(checks, check_timeout=0.2)
    elapsed = time.perf_counter() - started
    assert [result.ok for result in results] == [False, False, False, True]
    assert elapsed < 0.5  # sequential would take at least 0.6 s


async def test_failed_checks_log_at_debug_while_the_service_is_starting(
    running: Any, caplog: pytest.LogCaptureFixture
) -> None:
    def app_with(grace: float) -> Any:
        return create_service_app(
            "demo",
            DemoSettings(readiness_grace_seconds=grace),
            build=no_components,
            readiness_checks=lambda _aws, _components: [failing("queue", ConnectionError("no"))],
        )

    levels = {}
    for grace in (30.0, 0.0):
        caplog.clear()
        with caplog.at_level(logging.DEBUG, logger="marketscope_servicekit.health"):
            async with running(app_with(grace)) as client:
                assert (await client.get("/readyz")).status_code == 503
        [failed] = [r for r in caplog.records if r.getMessage() == "readiness check failed"]
        levels[grace] = failed.levelname
    # Starting (dependencies may still be starting): DEBUG; after the grace: WARNING.
    assert levels == {30.0: "DEBUG", 0.0: "WARNING"}
