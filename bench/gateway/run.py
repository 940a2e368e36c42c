"""Benchmark of the gateway on loopback, against the AWS emulator, in one run:

1. http       authenticated hot ``GET /api/v1/quotes/{s}`` through the gateway to the real
              market-data service (its cache warm), requests/s and p50/p99, against a bare
              ASGI hello endpoint under the same uvicorn settings; the ratio of the two.
2. websocket  1,000 WebSocket clients subscribed to ``quotes:AAPL``; QuoteUpdated events
              published to SNS one at a time. Per event: from the gateway taking it off its
              queue (``received_at`` in the frame) to the last of the 1,000 clients having it
              (target p99 <= 100 ms); and from the SNS publish to the last client.

Every server is its own uvicorn process (gateway, market-data, hello, the emulator); the
load and the clients run in this process. All on one host, so the clocks agree.

Usage: uv run python bench/gateway/run.py [--clients N] [--events N] [--requests N] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection, connect

from marketscope_emulator.process import EmulatorProcess, free_port
from marketscope_events import CATALOG
from marketscope_events.catalog import QuoteUpdated
from marketscope_events.publishing import SnsPublisher, TopicDirectory
from marketscope_infra.appliers.context import Clients
from marketscope_infra.apply import apply, load_spec
from marketscope_platform import AwsClients, AwsSettings
from marketscope_servicekit.metrics import percentile

ROOT = Path(__file__).resolve().parents[2]
RESULTS_FILE = ROOT / "bench" / "results" / "gateway.json"
TARGET_FANOUT_P99_MS = 100.0
PASSWORD = "benchmark password 1"
# Same uvicorn settings for the gateway and the baseline.
UVICORN_FLAGS = ("--log-level", "warning", "--no-access-log", "--ws-per-message-deflate", "false")


@dataclass(frozen=True)
class Params:
    requests: int
    concurrency: int
    clients: int
    events: int
    event_gap_s: float


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def summary(values_ms: Sequence[float]) -> dict[str, float]:
    ordered = sorted(values_ms)
    return {
        "p50_ms": round(percentile(ordered, 0.50), 2),
        "p95_ms": round(percentile(ordered, 0.95), 2),
        "p99_ms": round(percentile(ordered, 0.99), 2),
        "max_ms": round(ordered[-1], 2),
    }


# ------------------------------------------------------------------------------ processes


@contextlib.contextmanager
def server(
    name: str, app: str, port: int, env: dict[str, str], app_dir: Path | None = None
) -> Iterator[str]:
    command = [sys.executable, "-m", "uvicorn", app, "--port", str(port), *UVICORN_FLAGS]
    if app_dir is not None:
        command += ["--app-dir", str(app_dir)]
    log_path = Path(tempfile.gettempdir()) / f"marketscope-bench-gateway-{name}.log"
    with log_path.open("wb") as output:
        process = subprocess.Popen(
            command, env={**os.environ, **env}, stdout=output, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                if process.poll() is not None:
                    raise RuntimeError(f"{name} exited; see {log_path}")
                with contextlib.suppress(httpx.HTTPError):
                    path = "/healthz" if name != "hello" else "/"
                    if httpx.get(url + path, timeout=1).status_code == 200:
                        break
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{name} did not start; see {log_path}")
                time.sleep(0.2)
            log(f"{name} up on {url} (pid {process.pid})")
            yield url
        finally:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def wait_ready(url: str, checks: Sequence[str], timeout: float = 60) -> None:
    """Until the named /readyz checks pass (the gateway's rag check never does here)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError, KeyError, ValueError):
            body = httpx.get(f"{url}/readyz", timeout=5).json()
            passed = {check["name"] for check in body["checks"] if check["ok"]}
            if set(checks) <= passed:
                return
        time.sleep(0.3)
    raise TimeoutError(f"{url} never passed {checks}: {httpx.get(f'{url}/readyz').text}")


# ------------------------------------------------------------------------------ http phase


async def load(url: str, headers: dict[str, str], params: Params) -> dict[str, float]:
    """``params.requests`` GETs by ``params.concurrency`` keep-alive workers."""
    latencies: list[float] = []
    errors = 0
    remaining = params.requests
    limits = httpx.Limits(max_connections=params.concurrency)
    async with httpx.AsyncClient(headers=headers, limits=limits, timeout=30) as client:

        async def worker() -> None:
            nonlocal remaining, errors
            while remaining > 0:
                remaining -= 1
                started = time.perf_counter()
                response = await client.get(url)
                latencies.append((time.perf_counter() - started) * 1000)
                errors += response.status_code != 200

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(params.concurrency)))
        elapsed = time.perf_counter() - started
    return {
        "requests": len(latencies),
        "errors": errors,
        "rps": round(len(latencies) / elapsed, 1),
        **summary(latencies),
    }


async def http_phase(
    gateway: str, hello: str, headers: dict[str, str], params: Params
) -> dict[str, Any]:
    quote = f"{gateway}/api/v1/quotes/AAPL"
    warm = Params(200, params.concurrency, 0, 0, 0)
    await load(quote, headers, warm)  # market-data's cache and every connection pool warm
    await load(f"{hello}/", {}, warm)
    log(f"http: {params.requests} requests each, {params.concurrency} concurrent")
    gateway_result = await load(quote, headers, params)
    log(f"  gateway quotes: {gateway_result}")
    hello_result = await load(f"{hello}/", {}, params)
    log(f"  bare hello:     {hello_result}")
    ratio = round(gateway_result["rps"] / hello_result["rps"], 3)
    log(f"  ratio gateway/hello requests/s: {ratio}")
    return {"gateway_quotes": gateway_result, "hello": hello_result, "rps_ratio": ratio}


# ------------------------------------------------------------------------- websocket phase


@dataclass
class Arrivals:
    """Per event id: the gateway's receipt time and each client's arrival time."""

    received_at: dict[str, float]
    last_arrival: dict[str, float]
    count: dict[str, int]

    def record(self, raw: str | bytes, now: float) -> None:
        message = json.loads(raw)
        if message.get("type") != "event":
            return
        event_id = message["event_id"]
        self.received_at[event_id] = datetime.fromisoformat(message["received_at"]).timestamp()
        self.last_arrival[event_id] = max(self.last_arrival.get(event_id, 0.0), now)
        self.count[event_id] = self.count.get(event_id, 0) + 1


async def listen(ws: ClientConnection, arrivals: Arrivals) -> None:
    with contextlib.suppress(Exception):
        async for raw in ws:
            arrivals.record(raw, time.time())


async def open_clients(url: str, token: str, count: int) -> list[ClientConnection]:
    clients: list[ClientConnection] = []
    slots = asyncio.Semaphore(50)

    async def one() -> None:
        async with slots:
            ws = await connect(
                url,
                additional_headers={"Authorization": f"Bearer {token}"},
                compression=None,
                max_queue=None,
            )
            await ws.recv()  # welcome
            await ws.send(json.dumps({"type": "subscribe", "channel": "quotes:AAPL"}))
            reply = {"type": "heartbeat"}
            while reply["type"] == "heartbeat":
                reply = json.loads(await ws.recv())
            assert reply["type"] == "subscribed", reply
            clients.append(ws)
            if len(clients) % 200 == 0:
                log(f"  {len(clients)}/{count} clients connected and subscribed")

    await asyncio.gather(*(one() for _ in range(count)))
    return clients


async def websocket_phase(
    gateway: str, token: str, aws: AwsClients, params: Params
) -> dict[str, Any]:
    log(f"websocket: {params.clients} clients on quotes:AAPL")
    clients = await open_clients(gateway.replace("http://", "ws://") + "/ws", token, params.clients)
    arrivals = Arrivals({}, {}, {})
    listeners = [asyncio.create_task(listen(ws, arrivals)) for ws in clients]
    topics = await TopicDirectory.from_sts(await aws.client("sts"), aws.settings.default_region)
    publisher = SnsPublisher(await aws.client("sns"), topics)
    published_at: dict[str, float] = {}
    log(f"  publishing {params.events} QuoteUpdated, one every {params.event_gap_s}s")
    for index in range(params.events):
        price = Decimal("180") + Decimal(index) / 100
        data = QuoteUpdated(
            symbol="AAPL", price=price, previous_price=price - 1, change=Decimal(1),
            change_percent=Decimal("0.5"), as_of=datetime.now(UTC), provider="replay",
        )  # fmt: skip
        envelope = CATALOG.new_event(data, subject="Quote#AAPL")
        published_at[envelope.id] = time.time()
        await publisher.publish(envelope)
        await asyncio.sleep(params.event_gap_s)
        if (index + 1) % 20 == 0:
            log(f"  {index + 1}/{params.events} published")
    await asyncio.sleep(2.0)  # stragglers
    for task in listeners:
        task.cancel()
    await asyncio.gather(*(ws.close() for ws in clients), return_exceptions=True)

    complete = [e for e in published_at if arrivals.count.get(e, 0) == params.clients]
    fanout = [(arrivals.last_arrival[e] - arrivals.received_at[e]) * 1000 for e in complete]
    end_to_end = [(arrivals.last_arrival[e] - published_at[e]) * 1000 for e in complete]
    deliveries = sum(arrivals.count.values())
    result = {
        "clients": params.clients,
        "events": params.events,
        "events_delivered_to_every_client": len(complete),
        "deliveries": deliveries,
        "deliveries_expected": params.clients * params.events,
        "gateway_receipt_to_last_client": summary(fanout) if fanout else {},
        "sns_publish_to_last_client": summary(end_to_end) if end_to_end else {},
        "target_p99_ms": TARGET_FANOUT_P99_MS,
    }
    result["meets_target"] = (
        bool(fanout) and result["gateway_receipt_to_last_client"]["p99_ms"] <= TARGET_FANOUT_P99_MS
    )
    log(f"  complete events {len(complete)}/{params.events}, deliveries {deliveries}")
    log(f"  gateway receipt -> last client: {result['gateway_receipt_to_last_client']}")
    log(f"  SNS publish -> last client:     {result['sns_publish_to_last_client']}")
    return result


# ------------------------------------------------------------------------------------ main


async def account(gateway: str) -> str:
    credentials = {"email": f"bench-{uuid.uuid4().hex[:10]}@example.com", "password": PASSWORD}
    async with httpx.AsyncClient(base_url=gateway, timeout=30) as client:
        (await client.post("/api/v1/auth/register", json=credentials)).raise_for_status()
        login = await client.post("/api/v1/auth/login", json=credentials)
        login.raise_for_status()
        return str(login.json()["access_token"])


async def measure(endpoint: str, gateway: str, hello: str, params: Params) -> dict[str, Any]:
    token = await account(gateway)
    http = await http_phase(gateway, hello, {"Authorization": f"Bearer {token}"}, params)
    async with AwsClients(AwsSettings(endpoint_url=endpoint, default_region="us-east-1")) as aws:
        websocket = await websocket_phase(gateway, token, aws, params)
    return {"http": http, "websocket": websocket}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--events", type=int, default=100)
    parser.add_argument("--event-gap", type=float, default=0.3)
    parser.add_argument("--quick", action="store_true", help="a small run to check the script")
    args = parser.parse_args(argv)
    params = Params(args.requests, args.concurrency, args.clients, args.events, args.event_gap)
    if args.quick:
        params = Params(300, 8, 50, 10, 0.2)
    RESULTS_FILE.parent.mkdir(parents=True, exist_ok=True)

    with EmulatorProcess(port=free_port()) as emulator:
        endpoint = emulator.endpoint
        log(f"emulator on {endpoint}; provisioning")
        apply(load_spec(), Clients(endpoint, "us-east-1"))
        aws_env = {"AWS_ENDPOINT_URL": endpoint, "AWS_DEFAULT_REGION": "us-east-1"}
        md_port, gw_port, hello_port = free_port(), free_port(), free_port()
        market_env = {
            **aws_env,
            "MARKETSCOPE_MARKET_DATA_LIVE_REFRESH": "false",
            "MARKETSCOPE_MARKET_DATA_EMBEDDED_SCHEDULER": "false",
            "MARKETSCOPE_MARKET_DATA_LOG_LEVEL": "WARNING",
        }
        gateway_env = {
            **aws_env,
            "MARKETSCOPE_GATEWAY_MARKET_DATA_URL": f"http://127.0.0.1:{md_port}",
            "MARKETSCOPE_GATEWAY_RATE_LIMIT_PER_USER": "100000000/minute",
            "MARKETSCOPE_GATEWAY_RATE_LIMIT_PER_IP": "100000000/minute",
            "MARKETSCOPE_GATEWAY_WS_BUFFER_MESSAGES": "256",
            "MARKETSCOPE_GATEWAY_LOG_LEVEL": "WARNING",
        }
        with (
            server("market-data", "marketscope_market_data.main:app", md_port, market_env),
            server("gateway", "marketscope_gateway.main:app", gw_port, gateway_env) as gateway,
            server("hello", "hello:app", hello_port, {}, app_dir=Path(__file__).parent) as hello,
        ):
            wait_ready(f"http://127.0.0.1:{md_port}", ["table", "queue"])
            wait_ready(gateway, ["table", "queue", "signing-key", "market-data"])
            results = asyncio.run(measure(endpoint, gateway, hello, params))

    document = {
        "benchmark": "gateway",
        "run_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "params": asdict(params),
        "uvicorn_flags": list(UVICORN_FLAGS),
        **results,
    }
    RESULTS_FILE.write_text(json.dumps(document, indent=2) + "\n")
    log(f"results written to {RESULTS_FILE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
