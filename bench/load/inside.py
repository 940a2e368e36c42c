"""Where the time went: each service's own latency per route over the phase just run, as
the gateway's ops API reports it (``GET /api/v1/ops/measurements``, an admin's call).

The client's figure for the overview is the slowest of its four parts plus the gateway's
work; these say which service, and which of its routes, made it slow.
"""

from __future__ import annotations

from typing import Any

import httpx

from bench.chat.account import User, sign_up

ADMIN_EMAIL = "bench-load-admin@example.com"


async def sign_up_admin(client: httpx.AsyncClient) -> User:
    """The account the stack lists in ``MARKETSCOPE_GATEWAY_ADMIN_EMAILS``."""
    return await sign_up(client, ADMIN_EMAIL)


def _ms(value: Any) -> float | None:
    return None if value is None else round(float(value), 1)


async def service_routes(client: httpx.AsyncClient, admin: User, minutes: int) -> dict[str, Any]:
    """Per service, per route (busiest first): requests, 5xx, p50/p95/p99 in ms."""
    answer = await client.get(
        "/api/v1/ops/measurements", params={"minutes": minutes}, headers=admin.auth
    )
    answer.raise_for_status()
    found: dict[str, Any] = {}
    for service in answer.json()["services"]:
        if service["status"] != "measured":
            found[service["service"]] = {"status": service["status"], "detail": service["detail"]}
            continue
        found[service["service"]] = {
            route["route"]: {
                "requests": route["requests"],
                "errors": route["errors"],
                "p50_ms": _ms(route["latency"]["p50_ms"]),
                "p95_ms": _ms(route["latency"]["p95_ms"]),
                "p99_ms": _ms(route["latency"]["p99_ms"]),
            }
            for route in service["routes"]
        }
    return found
