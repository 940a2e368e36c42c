"""The admin-only ops API on the emulator: refused to a normal user; every service's
readiness with its checks; queue and DLQ depths and a redrive that really moves a message
back to its queue; the gateway's own API latency; its recent errors, newest first."""

from __future__ import annotations

import re
import uuid
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.responses import JSONResponse

from marketscope_events.catalog import dlq_name, queue_name
from marketscope_platform.aws import AwsClients

from .conftest import MakeGateway, RunningGateway
from .fakes import FakeMarketData, Unreachable

pytestmark = pytest.mark.integration
OPS_READS = (
    "/api/v1/ops/health",
    "/api/v1/ops/queues",
    "/api/v1/ops/latency",
    "/api/v1/ops/errors",
)
REDRIVE = "/api/v1/ops/queues/{service}/redrive"


def readyz_app(status: int, checks: list[dict[str, Any]]) -> FastAPI:
    """A service whose /readyz answers ``status`` with ``checks``, as servicekit's does."""
    app = FastAPI()

    @app.get("/readyz")
    async def readyz() -> JSONResponse:
        if status == 200:
            body: dict[str, Any] = {"status": "ready", "service": "x", "checks": checks}
            return JSONResponse(body)
        failed = [check["name"] for check in checks if not check["ok"]]
        problem = {
            "title": "Service Unavailable",
            "status": 503,
            "detail": f"Failed readiness checks: {', '.join(failed)}.",
            "checks": checks,
        }
        return JSONResponse(problem, status_code=503, media_type="application/problem+json")

    return app


def check(name: str, ok: bool = True) -> dict[str, Any]:
    return {"name": name, "ok": ok, "duration_ms": 1.5, "error": None if ok else "ResourceNotFound"}


async def admin_headers(gw: RunningGateway, email: str) -> dict[str, str]:
    await gw.register(email)
    tokens = (await gw.login(email)).json()
    assert "admin" in tokens["user"]["roles"]
    return {"Authorization": f"Bearer {tokens['access_token']}"}


def admin_email() -> str:
    return f"ops-{uuid.uuid4().hex[:12]}@example.com"


async def test_a_normal_user_is_refused_every_ops_route(make_gateway: MakeGateway) -> None:
    async with make_gateway(admin_emails=[admin_email()]) as gw:
        _, user, _ = await gw.user()
        calls = [("GET", path) for path in OPS_READS]
        calls.append(("POST", REDRIVE.format(service="chat")))
        for method, path in calls:
            response = await gw.client.request(method, path, headers=user)
            assert response.status_code == 403, (path, response.text)
            assert response.headers["content-type"] == "application/problem+json"
            assert "admin" in response.json()["detail"]
            anonymous = await gw.client.request(method, path)
            assert anonymous.status_code == 401, (path, anonymous.text)


async def test_health_shows_each_services_readiness_and_checks(make_gateway: MakeGateway) -> None:
    email = admin_email()
    transports: dict[str, httpx.AsyncBaseTransport] = {
        "market-data": httpx.ASGITransport(app=readyz_app(200, [check("table")])),
        "rag": httpx.ASGITransport(app=readyz_app(503, [check("table"), check("bucket", False)])),
        "chat": httpx.ASGITransport(app=readyz_app(200, [check("table"), check("queue")])),
        "notifier": Unreachable(),
    }
    async with make_gateway(admin_emails=[email], transports=transports) as gw:
        auth = await admin_headers(gw, email)
        response = await gw.client.get("/api/v1/ops/health", headers=auth)
        assert response.status_code == 200, response.text
        services = {each["service"]: each for each in response.json()["services"]}
        assert list(services) == ["gateway", "chat", "market-data", "rag", "notifier"]

        gateway = services["gateway"]
        # The gateway's own readiness, run in process: its table, queue, key and services.
        assert {c["name"] for c in gateway["checks"]} >= {"table", "queue", "signing-key"}
        own = {c["name"]: c["ok"] for c in gateway["checks"]}
        assert own["table"]
        assert own["queue"]
        assert own["signing-key"]

        assert services["chat"]["status"] == "ready"
        assert [c["name"] for c in services["chat"]["checks"]] == ["table", "queue"]
        assert services["market-data"]["status"] == "ready"
        rag = services["rag"]
        assert rag["status"] == "not-ready"
        assert rag["detail"] == "Failed readiness checks: bucket."
        assert {c["name"]: c["ok"] for c in rag["checks"]} == {"table": True, "bucket": False}
        assert services["notifier"]["status"] == "unreachable"
        assert services["notifier"]["checks"] == []


async def _drain_for(sqs: Any, url: str, marker: str) -> list[str]:
    """Receive (and delete) from ``url`` until the body holding ``marker`` showed up."""
    found: list[str] = []
    for _ in range(10):
        response = await sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1, VisibilityTimeout=30
        )
        for message in response.get("Messages", []):
            if marker in message["Body"]:
                found.append(message["Body"])
                await sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        if found:
            return found
    return found


async def test_queue_depths_and_a_redrive_moving_a_message_back(
    make_gateway: MakeGateway, aws: AwsClients
) -> None:
    email = admin_email()
    sqs = await aws.client("sqs")
    dlq_url = (await sqs.get_queue_url(QueueName=dlq_name("chat")))["QueueUrl"]
    queue_url = (await sqs.get_queue_url(QueueName=queue_name("chat")))["QueueUrl"]
    marker = f"dead-{uuid.uuid4().hex}"
    await sqs.send_message(QueueUrl=dlq_url, MessageBody=f'{{"not": "an event", "m": "{marker}"}}')
    async with make_gateway(admin_emails=[email]) as gw:
        auth = await admin_headers(gw, email)
        response = await gw.client.get("/api/v1/ops/queues", headers=auth)
        assert response.status_code == 200, response.text
        services = {each["service"]: each for each in response.json()["services"]}
        assert {"gateway", "chat", "market-data", "rag", "notifier"} <= set(services)
        chat = services["chat"]
        assert chat["queue"]["name"] == queue_name("chat")
        assert chat["queue"]["exists"]
        assert chat["dlq"]["name"] == dlq_name("chat")
        assert chat["dlq"]["visible"] + chat["dlq"]["in_flight"] >= 1
        # What the backend cannot measure is said so, not made up.
        assert chat["event_lag"]["measured"] is False
        assert chat["event_lag"]["p50_ms"] is None
        assert "not measured" in chat["oldest_message_age"]
        gateway = services["gateway"]
        assert gateway["queue"]["name"] == gw.app.state.components.live_feed.queue_name
        assert gateway["dlq"]["name"] == dlq_name("gateway")

        moved = await gw.client.post(REDRIVE.format(service="chat"), headers=auth)
        assert moved.status_code == 200, moved.text
        assert moved.json()["moved"] >= 1
        assert moved.json()["queue"] == queue_name("chat")
        bodies = await _drain_for(sqs, queue_url, marker)
        assert len(bodies) == 1, "the dead message is back in the chat queue, once"
        after = await gw.client.get("/api/v1/ops/queues", headers=auth)
        chat_dlq = {e["service"]: e for e in after.json()["services"]}["chat"]["dlq"]
        assert chat_dlq["visible"] == 0

        unknown = await gw.client.post(REDRIVE.format(service="nobody"), headers=auth)
        assert unknown.status_code == 404
        assert unknown.headers["content-type"] == "application/problem+json"


async def test_latency_percentiles_are_the_gateways_own_requests(make_gateway: MakeGateway) -> None:
    email = admin_email()
    async with make_gateway(admin_emails=[email]) as gw:
        auth = await admin_headers(gw, email)
        for _ in range(20):
            assert (await gw.client.get("/api/v1/me", headers=auth)).status_code == 200
        # What the recorder holds now: the ops request's own latency is recorded after it.
        recorded = gw.app.state.components.metrics.percentiles("APILatency", unit="Milliseconds")
        response = await gw.client.get("/api/v1/ops/latency", headers=auth)
        assert response.status_code == 200, response.text
        latency = response.json()["api_latency"]
        assert latency["measured"] is True
        assert 0 < latency["p50_ms"] <= latency["p95_ms"] <= latency["p99_ms"]
        assert latency["p50_ms"] == round(recorded["p50"], 2)
        assert latency["p99_ms"] == round(recorded["p99"], 2)


async def test_recent_errors_list_the_gateways_failures_newest_first(
    make_gateway: MakeGateway,
) -> None:
    email = admin_email()
    market_data = FakeMarketData(failing={"quotes", "healthz"})
    # No start-up grace: a failed readiness check is a warning at once.
    async with make_gateway(
        admin_emails=[email], market_data=market_data, readiness_grace_seconds=0
    ) as gw:
        auth = await admin_headers(gw, email)
        before = (await gw.client.get("/api/v1/ops/errors", headers=auth)).json()
        answers = []
        for symbol in ("AAPL", "MSFT"):
            failed = await gw.client.get(f"/api/v1/quotes/{symbol}", headers=auth)
            assert failed.status_code == 502, failed.text
            answers.append(failed)
        # The gateway's readiness check of market-data fails, and names itself in the log.
        assert (await gw.client.get("/readyz")).status_code == 503
        response = await gw.client.get("/api/v1/ops/errors", params={"limit": 100}, headers=auth)
        assert response.status_code == 200, response.text
        report = response.json()
        assert report["seen"] >= before["seen"] + 2
        failures = [e for e in report["errors"] if "market-data answered 500" in e["message"]]
        assert [e["message"].rsplit("/", 1)[-1] for e in failures[:2]] == ["MSFT", "AAPL"]
        assert failures[0]["level"] == "WARNING"
        # Each names its request and trace, as the request's answer and log lines do.
        assert failures[0]["request_id"] == answers[1].headers["X-Request-Id"]
        assert re.fullmatch(r"[0-9a-f]{32}", failures[0]["trace_id"] or "")
        assert failures[0]["trace_id"] != failures[1]["trace_id"]
        readiness = [e for e in report["errors"] if e["message"] == "readiness check failed"]
        assert readiness, report
        assert readiness[0]["context"]["check"] == "market-data"
        assert readiness[0] == report["errors"][0], "the latest record comes first"
        stamps = [e["at"] for e in report["errors"]]
        assert stamps == sorted(stamps, reverse=True)
        one = await gw.client.get("/api/v1/ops/errors", params={"limit": 1}, headers=auth)
        assert len(one.json()["errors"]) == 1
