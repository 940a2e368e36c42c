"""Benchmark of the gateway on loopback, against the AWS emulator, in one run:

1. http       an authenticated hot ``GET /api/v1/quotes/{s}`` through the gateway to the
              real market-data service (its cache warm); the same quote asked of
              market-data directly, with the signed identity it needs; and a bare ASGI
              hello endpoint under the same uvicorn settings. Requests/s, p50/p99 and CPU
              per request of every process, in rotating rounds (`http_legs`); targets:
              gateway >= 0.6 of hello and >= 0.65 of market-data direct, with the
              ceiling this machine puts on each (market-data direct / hello; the
              gateway CPU per request that would meet it).
2. websocket  1,000 WebSocket clients subscribed to ``quotes:AAPL``; QuoteUpdated events
              published to SNS one at a time (`fanout`); target p99 <= 100 ms from the
              gateway's receipt to the last client.

Every server is its own process (gateway, market-data, hello, the emulator); the three
apps are served with the services' own uvicorn options (`serve_app`), each service on its
default settings but for the variables `environment` lists with their reasons (the
results carry that list); the load and the clients run in this process.

Usage: uv run python bench/gateway/run.py [--requests N] [--rounds N] [--http-only] [--quick]
                                          [--output PATH]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import sys
import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

# Run by path, so Python puts this folder first on sys.path: the modules next to this
# file import as top-level modules; the root makes bench.common importable.
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import httpx
import jwt
from environment import SETTINGS, described, environment, settings
from fanout import websocket_phase
from http_legs import Leg, http_phase, identity_signer
from sampling import profile_leg
from serve_app import options
from servers import CpuMeter, log, server, wait_ready

from bench.common.processes import RunningServer
from marketscope_emulator.process import EmulatorProcess, free_port
from marketscope_infra.appliers.context import Clients
from marketscope_infra.apply import apply, load_spec
from marketscope_platform import AwsClients, AwsSettings
from marketscope_servicekit import Identity
from marketscope_servicekit.internal_key import generate_internal_key

ROOT = Path(__file__).resolve().parents[2]
RESULTS_FILE = ROOT / "bench" / "results" / "gateway.json"
PASSWORD = "benchmark password 1"
SYMBOL = "AAPL"


@dataclass(frozen=True)
class Params:
    requests: int
    rounds: int
    concurrency: int
    clients: int
    events: int
    event_gap_s: float
    websocket: bool
    profile: bool
    output: Path


async def account(gateway: str) -> tuple[str, Identity]:
    """A new user's access token, and the identity the gateway signs for it."""
    credentials = {"email": f"bench-{uuid.uuid4().hex[:10]}@example.com", "password": PASSWORD}
    async with httpx.AsyncClient(base_url=gateway, timeout=30) as client:
        (await client.post("/api/v1/auth/register", json=credentials)).raise_for_status()
        login = await client.post("/api/v1/auth/login", json=credentials)
        login.raise_for_status()
    token = str(login.json()["access_token"])
    claims = jwt.decode(token, options={"verify_signature": False})
    return token, Identity(str(claims["sub"]), frozenset(claims["roles"]))


async def measure(
    endpoint: str,
    servers: dict[str, RunningServer],
    internal_key: str,
    cpu: CpuMeter,
    params: Params,
) -> dict[str, Any]:
    gateway, market_data = servers["gateway"].url, servers["market-data"].url
    token, identity = await account(gateway)
    path = f"/quotes/{SYMBOL}"
    legs = [
        Leg("gateway_quotes", f"{gateway}/api/v1{path}", {"Authorization": f"Bearer {token}"}),
        Leg(
            "market_data_direct",
            market_data + path,
            signer=identity_signer(internal_key, identity, path),
        ),
        Leg("hello", f"{servers['hello'].url}/"),
    ]
    http = await http_phase(
        legs,
        requests=params.requests,
        concurrency=params.concurrency,
        rounds=params.rounds,
        cpu=cpu,
    )
    results: dict[str, Any] = {"http": http}
    if params.profile:
        results["profile"] = await profile_leg(
            legs[0],
            servers["gateway"].pid,
            requests=params.requests,
            concurrency=params.concurrency,
        )
    if params.websocket:
        aws_settings = AwsSettings(endpoint_url=endpoint, default_region="us-east-1")
        async with AwsClients(aws_settings) as aws:
            results["websocket"] = await websocket_phase(
                gateway,
                token,
                aws,
                clients=params.clients,
                events=params.events,
                gap_s=params.event_gap_s,
            )
    return results


def parse(argv: Sequence[str] | None) -> Params:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=3000, help="per leg and round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--events", type=int, default=100)
    parser.add_argument("--event-gap", type=float, default=0.3)
    parser.add_argument("--http-only", action="store_true", help="skip the WebSocket phase")
    parser.add_argument(
        "--no-profile", action="store_true", help="skip sampling the gateway with py-spy"
    )
    parser.add_argument("--quick", action="store_true", help="a small run to check the script")
    parser.add_argument("--output", type=Path, default=RESULTS_FILE)
    args = parser.parse_args(argv)
    if args.quick:
        return Params(300, 1, 8, 50, 10, 0.2, not args.http_only, not args.no_profile, args.output)
    return Params(
        args.requests,
        args.rounds,
        args.concurrency,
        args.clients,
        args.events,
        args.event_gap,
        not args.http_only,
        not args.no_profile,
        args.output,
    )


def main(argv: Sequence[str] | None = None) -> int:
    params = parse(argv)
    params.output.parent.mkdir(parents=True, exist_ok=True)
    load_at_start = os.getloadavg()
    internal_key = generate_internal_key()

    with EmulatorProcess(port=free_port()) as emulator:
        endpoint = emulator.endpoint
        log(f"emulator on {endpoint}; provisioning")
        apply(load_spec(), Clients(endpoint, "us-east-1"))
        md_port, gw_port, hello_port = free_port(), free_port(), free_port()
        env = settings(
            aws_endpoint=endpoint,
            market_data_url=f"http://127.0.0.1:{md_port}",
            clients=params.clients,
        )
        market_env = environment(env, "market-data", internal_key)
        gateway_env = environment(env, "gateway", internal_key)
        with (
            server("market-data", "marketscope_market_data.main:app", md_port, market_env) as md,
            server("gateway", "marketscope_gateway.main:app", gw_port, gateway_env) as gateway,
            server("hello", "hello:app", hello_port, {}, app_dir=Path(__file__).parent) as hello,
        ):
            wait_ready(md.url, ["table", "queue"])
            wait_ready(gateway.url, ["table", "queue", "signing-key", "market-data"])
            servers = {"gateway": gateway, "market-data": md, "hello": hello}
            pids = {name: served.pid for name, served in servers.items()}
            if emulator.pid is not None:
                pids["emulator"] = emulator.pid
            cpu = CpuMeter(pids)
            results = asyncio.run(measure(endpoint, servers, internal_key, cpu, params))

    document = {
        "benchmark": "gateway",
        "run_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "load_average_start": [round(value, 2) for value in load_at_start],
            "load_average_end": [round(value, 2) for value in os.getloadavg()],
        },
        "params": {**asdict(params), "output": str(params.output)},
        "settings": SETTINGS,
        "env": described(env),
        # Every server's: the services' own (servicekit.serve), each on its own port.
        "uvicorn_options": {k: v for k, v in options(hello_port).items() if k != "port"},
        **results,
    }
    params.output.write_text(json.dumps(document, indent=2) + "\n")
    log(f"results written to {params.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
