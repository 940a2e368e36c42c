"""The servers of the notifier benchmark: the emulator, then (for the latency phase) the
emulator provisioned from infra/localstack with market-data, the notifier and the
gateway each in its own uvicorn process on a loopback port, sharing a fresh random
``MARKETSCOPE_INTERNAL_KEY``; and the webhook receiver (receiver.py) in its own.

The processes are started and stopped as bench/chat/stack.py starts them; its logs are in
the temporary directory as ``marketscope-bench-chat-<server>.log``.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench.chat.stack import REGION, Server, log, start_server, wait_healthy
from marketscope_emulator.process import free_port
from marketscope_infra.appliers.context import Clients
from marketscope_infra.apply import apply, load_spec

HERE = Path(__file__).resolve().parent
READY_SECONDS = 60.0
# A replay symbol market-data knows, so that the gateway sets an alert on it.
LATENCY_SYMBOL = "AAPL"


@dataclass(frozen=True)
class Services:
    emulator: str
    market_data: str
    notifier: str
    gateway: str


def _ready(server: Server, absent: frozenset[str]) -> bool:
    with contextlib.suppress(httpx.HTTPError, ValueError):
        answer = httpx.get(f"{server.url}/readyz", timeout=2)
        if answer.status_code == 200:
            return True
        failed = answer.json().get("failed")
        return answer.status_code == 503 and bool(failed) and set(failed) <= absent
    return False


def wait_ready(server: Server, *, absent: frozenset[str] = frozenset()) -> None:
    """Until ``server`` answers ``/readyz`` with no failed check but those of the
    services named in ``absent`` (which the benchmark does not start)."""
    deadline = time.monotonic() + READY_SECONDS
    while not _ready(server, absent):
        if time.monotonic() > deadline:
            raise RuntimeError(f"{server.name} was not ready within {READY_SECONDS:g} s")
        time.sleep(0.2)


@contextlib.contextmanager
def running_services(emulator: str) -> Iterator[Services]:
    """Provisioning (every table, topic and queue), then market-data, the notifier and
    the gateway; stopped at the end."""
    log("provisioning the emulator")
    apply(load_spec(), Clients(emulator, REGION))
    common = {
        "AWS_ENDPOINT_URL": emulator,
        "AWS_DEFAULT_REGION": REGION,
        "MARKETSCOPE_INTERNAL_KEY": secrets.token_urlsafe(48),
    }
    servers: list[Server] = []
    try:
        servers.append(
            start_server(
                "market-data",
                "marketscope_market_data.main:app",
                {
                    **common,
                    "MARKETSCOPE_MARKET_DATA_LIVE_REFRESH": "false",
                    "MARKETSCOPE_MARKET_DATA_EMBEDDED_SCHEDULER": "false",
                    "MARKETSCOPE_MARKET_DATA_LOG_LEVEL": "WARNING",
                },
            )
        )
        market_data = servers[-1].url
        servers.append(
            start_server(
                "notifier",
                "marketscope_notifier.main:app",
                {**common, "MARKETSCOPE_NOTIFIER_LOG_LEVEL": "WARNING"},
            )
        )
        notifier = servers[-1].url
        servers.append(
            start_server(
                "gateway",
                "marketscope_gateway.main:app",
                {
                    **common,
                    "MARKETSCOPE_GATEWAY_MARKET_DATA_URL": market_data,
                    "MARKETSCOPE_GATEWAY_NOTIFIER_URL": notifier,
                    "MARKETSCOPE_GATEWAY_RATE_LIMIT_PER_USER": "100000000/minute",
                    "MARKETSCOPE_GATEWAY_RATE_LIMIT_PER_IP": "100000000/minute",
                    "MARKETSCOPE_GATEWAY_LOG_LEVEL": "WARNING",
                },
            )
        )
        log(f"starting {', '.join(server.name for server in servers)}")
        wait_healthy(servers)
        wait_ready(servers[1])
        # The gateway's own queue is subscribed and its signing key read; chat and rag,
        # which no phase calls, are not started.
        wait_ready(servers[2], absent=frozenset({"chat", "rag"}))
        yield Services(emulator, market_data, notifier, servers[-1].url)
    finally:
        for server in reversed(servers):
            server.stop()


@contextlib.contextmanager
def running_receiver() -> Iterator[Server]:
    """The webhook receiver (receiver.py) in its own uvicorn process."""
    port = free_port()
    command = [sys.executable, "-m", "uvicorn", "receiver:create_app", "--factory"]
    command += ["--app-dir", str(HERE), "--port", str(port)]
    command += ["--log-level", "warning", "--no-access-log"]
    log_path = Path(tempfile.gettempdir()) / "marketscope-bench-notifier-receiver.log"
    with log_path.open("wb") as output:
        process = subprocess.Popen(
            command,
            env=dict(os.environ),
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = Server("receiver", f"http://127.0.0.1:{port}", process, log_path)
    try:
        wait_healthy([server])
        yield server
    finally:
        server.stop()
