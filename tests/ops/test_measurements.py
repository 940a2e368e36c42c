"""The ops API's measurements on the real stack: every service answers its own request
latency, error rate per route and event lag, and the report says who computed each
percentile (the emulator's CloudWatch answers none, so the recorders do)."""

from __future__ import annotations

import httpx
import pytest

from marketscope_servicekit import Identity
from marketscope_servicekit.internal_key import InternalKeySettings
from marketscope_servicekit.testing import GatewaySigner

from ..stack import ADMIN_EMAIL, PASSWORD, Stack, in_stack_loop

pytestmark = pytest.mark.integration


async def admin_headers(stack: Stack) -> dict[str, str]:
    credentials = {"email": ADMIN_EMAIL, "password": PASSWORD}
    registered = await stack.client.post("/api/v1/auth/register", json=credentials)
    assert registered.status_code in {201, 409}, registered.text
    login = await stack.client.post("/api/v1/auth/login", json=credentials)
    assert login.status_code == 200, login.text
    return {"Authorization": f"Bearer {login.json()['access_token']}"}


@in_stack_loop
async def test_every_service_reports_its_routes_and_the_source_of_its_percentiles(
    stack: Stack,
) -> None:
    headers = await admin_headers(stack)
    for symbol in ("IBM", "AAPL", "NOPE1"):  # the last one market-data does not know
        await stack.client.get(f"/api/v1/quotes/{symbol}", headers=stack.a.headers)

    answer = await stack.client.get("/api/v1/ops/measurements", headers=headers)
    assert answer.status_code == 200, answer.text
    report = answer.json()
    assert report["minutes"] == 5
    services = {item["service"]: item for item in report["services"]}
    assert set(services) == {"gateway", "chat", "market-data", "rag", "notifier"}
    assert all(item["status"] == "measured" for item in services.values()), services

    gateway = services["gateway"]
    routes = {r["route"]: r for r in gateway["routes"]}
    assert "/api/v1/quotes/{symbol}" in routes, routes
    quotes = routes["/api/v1/quotes/{symbol}"]
    assert quotes["requests"] >= 3
    assert 0 < quotes["latency"]["p50_ms"] <= quotes["latency"]["p95_ms"]
    assert quotes["latency"]["p95_ms"] <= quotes["latency"]["p99_ms"]
    assert quotes["error_rate"] == round(quotes["errors"] / quotes["requests"], 4)
    market = services["market-data"]
    assert any(r["route"] == "/quotes/{symbol}" for r in market["routes"]), market
    # The emulator keeps no percentiles: every figure says the recorder computed it.
    for item in services.values():
        assert item["api_latency"]["source"] in {"cloudwatch", "recorder"}
        assert item["api_latency"]["source"] == "recorder"
    # The gateway's consumer measured the lag of the events it pushed to sockets.
    assert services["gateway"]["event_lag"]["source"] == "recorder"

    hour = await stack.client.get(
        "/api/v1/ops/measurements", params={"minutes": 60}, headers=headers
    )
    assert hour.status_code == 200, hour.text
    assert hour.json()["minutes"] == 60
    wrong = await stack.client.get(
        "/api/v1/ops/measurements", params={"minutes": 7}, headers=headers
    )
    assert wrong.status_code == 422
    assert wrong.headers["content-type"] == "application/problem+json"


@in_stack_loop
async def test_a_services_measurements_are_for_admins_only(stack: Stack) -> None:
    # Straight to chat, signed as the gateway signs: a user's identity is refused.
    key = InternalKeySettings().internal_key
    user = Identity(stack.a.user_id)
    admin = Identity(stack.a.user_id, frozenset({"user", "admin"}))
    async with httpx.AsyncClient(base_url=stack.chat_url) as chat:
        as_user = await chat.get("/ops/measurements", auth=GatewaySigner(key, user))
        as_admin = await chat.get("/ops/measurements", auth=GatewaySigner(key, admin))
        unsigned = await chat.get("/ops/measurements")
    assert as_user.status_code == 403
    assert as_admin.status_code == 200, as_admin.text
    assert as_admin.json()["service"] == "chat"
    assert unsigned.status_code == 401
