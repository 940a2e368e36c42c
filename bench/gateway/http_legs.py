"""The HTTP phase: one quote request three ways, under the same load.

- ``gateway_quotes``: ``GET /api/v1/quotes/AAPL`` through the gateway with the user's
  access token (JWT verified, both rate limits counted, the identity signed, market-data
  called over a pooled connection, its answer relayed).
- ``market_data_direct``: ``GET /quotes/AAPL`` straight to market-data with what it
  needs from a caller: the same user's identity signed with the internal key for exactly
  this request (method, path, empty body, timestamp), signed anew for every request as
  the gateway does.
- ``hello``: a bare ASGI answer, the ceiling of this load client against uvicorn.

The legs run in rounds, each round every leg once, in an order that rotates from round
to round, so that something else taking CPU for a while hurts all legs alike; a leg's
requests/s is the median of its rounds. Every leg uses the same load client (httpx,
``concurrency`` keep-alive workers with a connection each, in this process, which shares
the machine's cores with the servers); the CPU each process spent per request is reported
beside it, a figure that does not depend on what the load client could send.
"""

from __future__ import annotations

import asyncio
import contextlib
import statistics
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
from servers import CpuMeter, cpu_spent, log

from marketscope_servicekit import Identity, sign_identity
from marketscope_servicekit.metrics import percentile

TARGETS = {"gateway_to_hello": 0.6, "gateway_to_market_data": 0.65}
# The leg each target's ratio is taken against.
BASELINES = {"gateway_to_hello": "hello", "gateway_to_market_data": "market_data_direct"}
WARM_UP_REQUESTS = 200
Signer = Callable[[], Mapping[str, str]]


@dataclass(frozen=True)
class Leg:
    name: str
    url: str
    headers: Mapping[str, str] = field(default_factory=dict)
    signer: Signer | None = None  # headers made anew for every request


@dataclass
class Tally:
    """A leg's rounds: their requests/s, every latency, errors, CPU per process."""

    rounds_rps: list[float] = field(default_factory=list)
    latencies_ms: list[float] = field(default_factory=list)
    errors: int = 0
    cpu_s: dict[str, float] = field(default_factory=dict)


def identity_signer(internal_key: str, identity: Identity, path: str) -> Signer:
    def signed() -> Mapping[str, str]:
        return sign_identity(internal_key, identity, method="GET", path_with_query=path)

    return signed


async def load(
    leg: Leg,
    requests: int,
    concurrency: int,
    tally: Tally | None = None,
    cpu: CpuMeter | None = None,
) -> float:
    """``requests`` GETs by ``concurrency`` keep-alive workers, each with a client and a
    connection of its own; the requests/s. One pool of ``concurrency`` connections would
    cost more per request the more of them are idle at once (httpcore looks at every
    pooled connection, and polls every idle one, for each request), so the load client's
    cost would depend on the server it drives rather than stay the same for every leg."""
    remaining = requests
    latencies: list[float] = []
    errors = 0
    one_connection = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    async with contextlib.AsyncExitStack() as stack:
        clients = [
            await stack.enter_async_context(
                httpx.AsyncClient(headers=dict(leg.headers), limits=one_connection, timeout=30)
            )
            for _ in range(concurrency)
        ]

        async def worker(client: httpx.AsyncClient) -> None:
            nonlocal remaining, errors
            while remaining > 0:
                remaining -= 1
                headers = leg.signer() if leg.signer is not None else None
                started = time.perf_counter()
                response = await client.get(leg.url, headers=headers)
                latencies.append((time.perf_counter() - started) * 1000)
                errors += response.status_code != 200

        # CPU is read over exactly the requests (making 32 clients costs more than
        # their requests do in a short round).
        before = cpu.read() if cpu is not None else {}
        started = time.perf_counter()
        await asyncio.gather(*(worker(client) for client in clients))
        elapsed = time.perf_counter() - started
        spent = cpu_spent(before, cpu.read()) if cpu is not None else {}
    rps = len(latencies) / elapsed
    if tally is not None:
        tally.rounds_rps.append(round(rps, 1))
        tally.latencies_ms.extend(latencies)
        tally.errors += errors
        for name, seconds in spent.items():
            tally.cpu_s[name] = tally.cpu_s.get(name, 0.0) + seconds
    return rps


def _summary(tally: Tally) -> dict[str, Any]:
    ordered = sorted(tally.latencies_ms)
    return {
        "requests": len(ordered),
        "errors": tally.errors,
        "rps": round(statistics.median(tally.rounds_rps), 1),
        "rounds_rps": tally.rounds_rps,
        "p50_ms": round(percentile(ordered, 0.50), 2),
        "p95_ms": round(percentile(ordered, 0.95), 2),
        "p99_ms": round(percentile(ordered, 0.99), 2),
        "max_ms": round(ordered[-1], 2),
        "cpu_ms_per_request": {
            name: round(seconds * 1000 / len(ordered), 3) for name, seconds in tally.cpu_s.items()
        },
    }


def _ratio(numerator: float, denominator: float) -> float:
    return round(numerator / denominator, 3)


def gateway_cpu_budgets(result: dict[str, Any]) -> dict[str, float | None]:
    """Per target, the gateway's CPU per request at which the gateway leg would meet it:
    the leg is CPU-bound (every process shares the cores), so if it kept the cores it
    used, its requests/s would be those cores over the CPU all the processes spend per
    request. None where the rest of the chain (market-data, the emulator, the load client)
    alone already takes more than that, so no gateway could meet the target here."""
    leg = result["gateway_quotes"]
    per_request = sum(leg["cpu_ms_per_request"].values())
    cores_ms_per_s = leg["rps"] * per_request  # CPU milliseconds per second: cores x 1000
    rest = per_request - leg["cpu_ms_per_request"].get("gateway", 0.0)
    budgets: dict[str, float | None] = {}
    for name, target in TARGETS.items():
        budget = cores_ms_per_s / (target * result[BASELINES[name]]["rps"]) - rest
        budgets[name] = round(budget, 3) if budget > 0 else None
    return budgets


async def http_phase(
    legs: Sequence[Leg], *, requests: int, concurrency: int, rounds: int, cpu: CpuMeter
) -> dict[str, Any]:
    for leg in legs:  # every pool and cache warm, market-data's included
        await load(leg, WARM_UP_REQUESTS, concurrency)
    log(f"http: {rounds} rounds of {requests} requests per leg, {concurrency} concurrent")
    tallies = {leg.name: Tally() for leg in legs}
    for index in range(rounds):
        shift = index % len(legs)
        for leg in [*legs[shift:], *legs[:shift]]:
            rps = await load(leg, requests, concurrency, tallies[leg.name], cpu)
            log(f"  round {index + 1} {leg.name}: {rps:.1f} requests/s")
    result: dict[str, Any] = {name: _summary(t) for name, t in tallies.items()}
    gateway = result["gateway_quotes"]["rps"]
    ratios = {name: _ratio(gateway, result[leg]["rps"]) for name, leg in BASELINES.items()}
    result["rps_ratio"] = ratios["gateway_to_hello"]  # the name earlier results used
    result["ratios"] = ratios
    result["targets"] = TARGETS
    result["meets_targets"] = all(ratios[name] >= target for name, target in TARGETS.items())
    # A quote through the gateway includes market-data's own work, so on shared cores the
    # gateway leg can never outrun market-data direct: that ratio bounds gateway_to_hello.
    result["ceiling_gateway_to_hello"] = _ratio(
        result["market_data_direct"]["rps"], result["hello"]["rps"]
    )
    result["gateway_cpu_budget_ms"] = gateway_cpu_budgets(result)
    for name in ("gateway_quotes", "market_data_direct", "hello"):
        figures = result[name]
        log(
            f"  {name}: {figures['rps']} requests/s (rounds {figures['rounds_rps']}), "
            f"p50 {figures['p50_ms']} ms, p99 {figures['p99_ms']} ms, errors {figures['errors']}"
        )
        log(f"    CPU ms per request: {figures['cpu_ms_per_request']}")
    log(f"  ratios {ratios} (targets {TARGETS}): met {result['meets_targets']}")
    log(
        f"  gateway_to_hello can reach at most {result['ceiling_gateway_to_hello']} here "
        "(market-data direct / hello); the gateway's CPU per request that would meet each "
        f"target (None: none could): {result['gateway_cpu_budget_ms']}"
    )
    return result
