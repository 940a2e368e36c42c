"""Benchmark of the market-data service over real HTTP, against an emulator it starts.

One run, four phases:

1. cold     100 concurrent ``GET /quotes/MSFT`` on a cold cache (fresh emulator, fresh
            process): how many provider (origin) calls they cause. Target 1.
2. hot      ``GET /quotes/MSFT`` from the in-process cache: requests/s and p99.
3. baseline a bare FastAPI ``GET /hello`` under the same uvicorn settings and the same
            load, served at the same time; hot and baseline rounds alternate and the
            medians give the hot/baseline ratio of requests/s. Target >= 0.7.
4. zipf     ``GET /quotes/{s}`` with s drawn from a Zipf law (s = 1.1) over 50 symbols:
            hit rate = 1 - origin calls / requests. Target >= 0.95.

Usage: uv run python bench/market_data/run.py [--requests N] [--concurrency C] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

# Run by path: this folder comes first on sys.path; the root makes bench.* importable.
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import httpx
import numpy as np

from bench.common.processes import running_server
from marketscope_emulator.process import EmulatorProcess, free_port
from marketscope_infra.appliers.context import Clients
from marketscope_infra.apply import apply, load_spec
from marketscope_servicekit import Identity, sign_identity
from marketscope_servicekit.internal_key import ENV_VARIABLE, generate_internal_key

HERE = Path(__file__).resolve().parent
RESULTS_FILE = HERE.parents[0] / "results" / "market_data.json"
UVICORN_FLAGS = ["--workers", "1", "--loop", "uvloop", "--http", "httptools", "--no-access-log",
                 "--log-level", "warning"]  # fmt: skip
TARGETS = {"ratio": 0.7, "cold_origin_calls": 1, "zipf_hit_rate": 0.95}
# The served market-data verifies with this run's key, as under `marketscope up`.
INTERNAL_KEY = generate_internal_key()


def signed_headers(path: str) -> dict[str, str]:
    """The gateway-signed identity every market-data route needs, for ``GET path``."""
    return sign_identity(INTERNAL_KEY, Identity("bench"), method="GET", path_with_query=path)


def say(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


@contextmanager
def served(factory: str, env: dict[str, str]) -> Iterator[str]:
    """``bench_apps:<factory>`` in its own uvicorn process on a free port, until it answers
    /healthz (the hello, which has no such route: /docs); its log is
    ``marketscope-bench-market-data-market-data.log`` or ``...-hello.log``."""
    port = free_port()
    command = [sys.executable, "-m", "uvicorn", "--factory", f"bench_apps:{factory}",
               "--app-dir", str(HERE), "--port", str(port), *UVICORN_FLAGS]  # fmt: skip
    name = factory.replace("_", "-")
    probe = "/docs" if factory == "hello" else "/healthz"
    with running_server(
        command, bench="market-data", name=name, port=port, probe=probe, env=env
    ) as server:
        yield server.url


class Connection:
    """A minimal keep-alive HTTP/1.1 GET client: the load generator must cost far less
    than the servers it measures, and on two shared cores httpx does not."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, base: str) -> Connection:
        host, port = base.removeprefix("http://").split(":")
        return cls(*await asyncio.open_connection(host, int(port)))

    async def get(self, path: str, headers: str) -> int:
        self.writer.write(f"GET {path} HTTP/1.1\r\nHost: bench\r\n{headers}\r\n".encode())
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        length = next(
            int(line.split(":", 1)[1])
            for line in lines
            if line.lower().startswith("content-length")
        )
        await self.reader.readexactly(length)
        return int(lines[0].split()[1])

    def close(self) -> None:
        self.writer.close()


async def load(base: str, paths: list[str], concurrency: int) -> dict[str, Any]:
    """Send every path once over ``concurrency`` keep-alive connections."""
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    queue = iter(paths)
    connections = [await Connection.open(base) for _ in range(concurrency)]

    async def worker(connection: Connection) -> None:
        for path in queue:
            # Every server gets the same headers, so the baseline parses as much as the
            # service; the signature names the path, so each request signs its own.
            headers = "".join(
                f"{name}: {value}\r\n" for name, value in signed_headers(path).items()
            )
            started = time.perf_counter()
            status = await connection.get(path, headers)
            latencies.append(time.perf_counter() - started)
            statuses[status] = statuses.get(status, 0) + 1

    started = time.perf_counter()
    await asyncio.gather(*(worker(connection) for connection in connections))
    elapsed = time.perf_counter() - started
    for connection in connections:
        connection.close()
    ordered = np.sort(np.array(latencies)) * 1000
    return {
        "requests": len(paths),
        "seconds": round(elapsed, 3),
        "requests_per_s": round(len(paths) / elapsed, 1),
        "p50_ms": round(float(np.percentile(ordered, 50)), 2),
        "p99_ms": round(float(np.percentile(ordered, 99)), 2),
        "statuses": statuses,
    }


async def cold_burst(base: str, path: str, n: int) -> dict[int, int]:
    async with httpx.AsyncClient(base_url=base, timeout=60, headers=signed_headers(path),
                                 limits=httpx.Limits(max_connections=n)) as client:  # fmt: skip
        responses = await asyncio.gather(*(client.get(path) for _ in range(n)))
    statuses: dict[int, int] = {}
    for response in responses:
        statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
    return statuses


def origin_calls(base: str) -> dict[str, int]:
    return dict(httpx.get(f"{base}/bench/origin-calls").json())


def median_run(runs: list[dict[str, Any]]) -> dict[str, Any]:
    ordered = sorted(runs, key=lambda run: run["requests_per_s"])
    return {
        **ordered[len(ordered) // 2],
        "rounds_requests_per_s": [r["requests_per_s"] for r in runs],
    }


def zipf_paths(n: int, symbols: int, exponent: float, seed: int = 7) -> list[str]:
    ranks = np.arange(1, symbols + 1)
    weights = ranks**-exponent
    draws = np.random.default_rng(seed).choice(symbols, size=n, p=weights / weights.sum())
    return [f"/quotes/B{int(i):02d}" for i in draws]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=4000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--zipf-requests", type=int, default=4000)
    parser.add_argument("--rounds", type=int, default=3, help="alternating hot/hello rounds")
    parser.add_argument("--quick", action="store_true", help="1,000 requests per phase")
    args = parser.parse_args()
    n = 1000 if args.quick else args.requests
    zipf_n = 1000 if args.quick else args.zipf_requests

    with EmulatorProcess(port=free_port()) as emulator:
        say(f"emulator on {emulator.endpoint}; provisioning")
        apply(load_spec(), Clients(emulator.endpoint, "us-east-1"))
        env = {
            "AWS_ENDPOINT_URL": emulator.endpoint,
            "MARKETSCOPE_MARKET_DATA_LOG_LEVEL": "WARNING",
            ENV_VARIABLE: INTERNAL_KEY,
        }
        with served("market_data", env) as base, served("hello", {}) as hello_base:
            say("cold: 100 concurrent requests for MSFT")
            cold_statuses = asyncio.run(cold_burst(base, "/quotes/MSFT", 100))
            cold_calls = origin_calls(base).get("quote:MSFT", 0)
            say(f"cold: {cold_calls} origin call(s), statuses {cold_statuses}")
            asyncio.run(load(base, ["/quotes/MSFT"] * 300, args.concurrency))
            asyncio.run(load(hello_base, ["/hello"] * 300, args.concurrency))
            # Alternating rounds on the same (shared, noisy) machine; medians reported.
            hots, hellos, healths = [], [], []
            for round_number in range(1, args.rounds + 1):
                hots.append(asyncio.run(load(base, ["/quotes/MSFT"] * n, args.concurrency)))
                hellos.append(asyncio.run(load(hello_base, ["/hello"] * n, args.concurrency)))
                healths.append(asyncio.run(load(base, ["/healthz"] * n, args.concurrency)))
                say(
                    f"round {round_number}/{args.rounds}: hot quote "
                    f"{hots[-1]['requests_per_s']} req/s (p99 {hots[-1]['p99_ms']} ms), "
                    f"bare hello {hellos[-1]['requests_per_s']} req/s "
                    f"(p99 {hellos[-1]['p99_ms']} ms), same app /healthz "
                    f"{healths[-1]['requests_per_s']} req/s"
                )
            hot, baseline, health = median_run(hots), median_run(hellos), median_run(healths)
            before = sum(v for k, v in origin_calls(base).items() if k.startswith("quote:B"))
            say(f"zipf: {zipf_n} requests over 50 symbols")
            zipf = asyncio.run(load(base, zipf_paths(zipf_n, 50, 1.1), args.concurrency))
            after = sum(v for k, v in origin_calls(base).items() if k.startswith("quote:B"))
            zipf_calls = after - before
            hit_rate = 1 - zipf_calls / zipf_n
            say(f"zipf: {zipf_calls} origin calls, hit rate {hit_rate:.4f}")

    ratio = hot["requests_per_s"] / baseline["requests_per_s"]
    results = {
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "uvicorn": UVICORN_FLAGS,
        "concurrency": args.concurrency,
        "hot_quote": hot,
        "bare_hello": baseline,
        "ratio_requests_per_s": round(ratio, 3),
        # The same app's /healthz runs none of the quote code: hot quote / healthz says
        # what the quote path costs beyond the shared service stack (middleware, tracing).
        "same_app_healthz": health,
        "ratio_hot_quote_to_same_app_healthz": round(
            hot["requests_per_s"] / health["requests_per_s"], 3
        ),
        "cold": {"concurrent_requests": 100, "origin_calls": cold_calls, "statuses": cold_statuses},
        "zipf": {
            "requests": zipf_n,
            "symbols": 50,
            "exponent": 1.1,
            "origin_calls": zipf_calls,
            "hit_rate": round(hit_rate, 4),
            "statuses": zipf["statuses"],
        },
        "targets": TARGETS,
        "met": {
            "ratio": ratio >= TARGETS["ratio"],
            "cold_origin_calls": cold_calls == TARGETS["cold_origin_calls"],
            "zipf_hit_rate": hit_rate >= TARGETS["zipf_hit_rate"],
        },
    }
    RESULTS_FILE.parent.mkdir(parents=True, exist_ok=True)
    RESULTS_FILE.write_text(json.dumps(results, indent=2) + "\n")
    print(
        json.dumps(
            {k: results[k] for k in ("ratio_requests_per_s", "cold", "zipf", "met")}, indent=2
        )
    )
    say(f"written {RESULTS_FILE}")


if __name__ == "__main__":
    main()
