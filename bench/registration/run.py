"""What registrations cost the other requests of a gateway: quote latency through the
gateway while 24 registrations (each an argon2id hash) run at once, with the password
hashing bounded (the default: the cores less one) and unbounded (as many as arrive).

Two gateway processes on one emulator and one market-data, measured one after the other:
for each, quote p50/p95 idle, then while the registrations run, and how long the
registrations took. Writes bench/results/registration.json. Under a minute on 2 cores.

Usage: uv run python bench/registration/run.py [--registrations N] [--output PATH]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import secrets
import sys
import time
import uuid
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

# Run by path: this folder comes first on sys.path; the root makes bench.* importable.
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import httpx

from bench.common.processes import running_server
from marketscope_emulator.process import EmulatorProcess, free_port
from marketscope_gateway.auth.passwords import default_hashing_concurrency
from marketscope_infra.appliers.context import Clients
from marketscope_infra.apply import apply, load_spec
from marketscope_servicekit.metrics import percentile

ROOT = Path(__file__).resolve().parents[2]
RESULTS_FILE = ROOT / "bench" / "results" / "registration.json"
PASSWORD = "benchmark password 1"
UNBOUNDED = 64  # more hashes at once than registrations arrive: no bound in effect
IDLE_QUOTES = 100


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def summary(values_ms: Sequence[float]) -> dict[str, float]:
    ordered = sorted(values_ms)
    return {
        "count": len(ordered),
        "p50_ms": round(percentile(ordered, 0.50), 1),
        "p95_ms": round(percentile(ordered, 0.95), 1),
        "max_ms": round(ordered[-1], 1),
    }


@contextlib.contextmanager
def server(name: str, app: str, env: dict[str, str]) -> Iterator[str]:
    """``app`` in its own uvicorn process on a free port, until it answers /healthz; its
    log is ``marketscope-bench-registration-<name>.log``."""
    port = free_port()
    command = [sys.executable, "-m", "uvicorn", app, "--port", str(port)]
    command += ["--log-level", "warning", "--no-access-log"]
    with running_server(command, bench="registration", name=name, port=port, env=env) as served:
        yield served.url


def credentials() -> dict[str, str]:
    return {"email": f"bench-{uuid.uuid4().hex[:12]}@example.com", "password": PASSWORD}


async def quote_token(client: httpx.AsyncClient) -> str:
    account = credentials()
    (await client.post("/api/v1/auth/register", json=account)).raise_for_status()
    login = await client.post("/api/v1/auth/login", json=account)
    login.raise_for_status()
    return str(login.json()["access_token"])


async def timed_quote(client: httpx.AsyncClient, headers: dict[str, str]) -> float:
    started = time.perf_counter()
    (await client.get("/api/v1/quotes/AAPL", headers=headers)).raise_for_status()
    return (time.perf_counter() - started) * 1000


async def measure(gateway: str, registrations: int) -> dict[str, Any]:
    """Quote latency idle and under ``registrations`` concurrent registrations."""
    limits = httpx.Limits(max_connections=registrations + 4)
    async with httpx.AsyncClient(base_url=gateway, timeout=120, limits=limits) as client:
        headers = {"Authorization": f"Bearer {await quote_token(client)}"}
        for _ in range(30):  # market-data's cache and the connection pools warm
            await timed_quote(client, headers)
        idle = [await timed_quote(client, headers) for _ in range(IDLE_QUOTES)]

        async def register() -> float:
            started = time.perf_counter()
            response = await client.post("/api/v1/auth/register", json=credentials())
            response.raise_for_status()
            return (time.perf_counter() - started) * 1000

        started = time.perf_counter()
        signups = asyncio.gather(*(register() for _ in range(registrations)))
        loaded: list[float] = []
        while not signups.done():
            loaded.append(await timed_quote(client, headers))
        durations = await signups
        elapsed = time.perf_counter() - started
    return {
        "quotes_idle": summary(idle),
        "quotes_during_registrations": summary(loaded),
        "registrations": summary(durations),
        "registrations_wall_s": round(elapsed, 2),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--registrations", type=int, default=24)
    parser.add_argument("--output", type=Path, default=RESULTS_FILE)
    args = parser.parse_args(argv)

    with EmulatorProcess(port=free_port()) as emulator:
        log(f"emulator on {emulator.endpoint}; provisioning")
        apply(load_spec(), Clients(emulator.endpoint, "us-east-1"))
        common = {
            "AWS_ENDPOINT_URL": emulator.endpoint,
            "AWS_DEFAULT_REGION": "us-east-1",
            "MARKETSCOPE_INTERNAL_KEY": secrets.token_urlsafe(32),
        }
        market_env = {
            **common,
            "MARKETSCOPE_MARKET_DATA_LIVE_REFRESH": "false",
            "MARKETSCOPE_MARKET_DATA_EMBEDDED_SCHEDULER": "false",
            "MARKETSCOPE_MARKET_DATA_LOG_LEVEL": "WARNING",
        }
        with server("market-data", "marketscope_market_data.main:app", market_env) as market:
            gateway_env = {
                **common,
                "MARKETSCOPE_GATEWAY_MARKET_DATA_URL": market,
                "MARKETSCOPE_GATEWAY_REGISTRATIONS_PER_IP": "1000000",
                "MARKETSCOPE_GATEWAY_RATE_LIMIT_PER_USER": "100000000/minute",
                "MARKETSCOPE_GATEWAY_RATE_LIMIT_PER_IP": "100000000/minute",
                "MARKETSCOPE_GATEWAY_LOG_LEVEL": "WARNING",
            }
            results: dict[str, Any] = {}
            bounds = {"bounded": default_hashing_concurrency(), "unbounded": UNBOUNDED}
            for mode, concurrency in bounds.items():
                env = {
                    **gateway_env,
                    "MARKETSCOPE_GATEWAY_PASSWORD_HASHING_CONCURRENCY": str(concurrency),
                }
                with server(f"gateway-{mode}", "marketscope_gateway.main:app", env) as gateway:
                    log(f"{mode}: {args.registrations} registrations at once")
                    results[mode] = asyncio.run(measure(gateway, args.registrations))
                    results[mode]["hashing_concurrency"] = concurrency
                log(f"  {json.dumps(results[mode])}")

    document = {
        "benchmark": "registration",
        "run_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "load_average": os.getloadavg(),
            "python": platform.python_version(),
        },
        "params": {"registrations": args.registrations, "idle_quotes": IDLE_QUOTES},
        **results,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(document, indent=2) + "\n")
    for mode in ("bounded", "unbounded"):
        idle, loaded = results[mode]["quotes_idle"], results[mode]["quotes_during_registrations"]
        log(
            f"{mode:>9}: quote p50/p95 idle {idle['p50_ms']}/{idle['p95_ms']} ms, "
            f"during registrations {loaded['p50_ms']}/{loaded['p95_ms']} ms; "
            f"registrations took {results[mode]['registrations_wall_s']} s"
        )
    log(f"results written to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
