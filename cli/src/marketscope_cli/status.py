"""`marketscope status`: each service's health and every queue's depth."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import httpx

from marketscope_cli.queues import QueueDepth, queue_depths
from marketscope_platform.aws import AwsClients
from marketscope_platform.topology import SERVICES


@dataclass(frozen=True)
class ServiceHealth:
    name: str
    url: str
    alive: bool
    ready: bool
    detail: str


async def service_health(name: str, url: str, client: httpx.AsyncClient) -> ServiceHealth:
    try:
        alive = (await client.get(f"{url}/healthz")).status_code == 200
        ready_response = await client.get(f"{url}/readyz")
    except httpx.HTTPError as exc:
        return ServiceHealth(name, url, False, False, f"unreachable ({type(exc).__name__})")
    ready = ready_response.status_code == 200
    detail = "ready" if ready else ready_response.text[:200]
    return ServiceHealth(name, url, alive, ready, detail)


async def collect_status(
    host: str, port_offset: int
) -> tuple[list[ServiceHealth], list[QueueDepth] | str]:
    async with httpx.AsyncClient(timeout=3.0) as client:
        health = await asyncio.gather(
            *(
                service_health(s.name, f"http://{host}:{s.port + port_offset}", client)
                for s in SERVICES.values()
            )
        )
    try:
        async with AwsClients() as aws:
            depths: list[QueueDepth] | str = await queue_depths(await aws.client("sqs"))
    except Exception as exc:  # any failure here is reported in the table, not raised
        depths = f"queues unavailable: {type(exc).__name__}: {exc}"
    return list(health), depths
