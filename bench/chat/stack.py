"""The servers of the chat benchmark, each its own uvicorn process on a loopback port:
market-data, rag, the chat service twice (the offline engine, and the compatible
provider against the scripted model server), the scripted model server itself and the
gateway, all on one provisioned emulator. They are started one after the other without
waiting (each port is chosen as its process starts, so the later ones know the earlier
ones' URLs), then the run waits for every /healthz.

``running_stack(priced=False)`` leaves out the compatible chat and the model server (their
URLs are then empty), and ``env`` adds variables to named servers' environments.
"""

from __future__ import annotations

import contextlib
import os
import platform
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx

from marketscope_emulator.process import EmulatorProcess, free_port
from marketscope_infra.appliers.context import Clients
from marketscope_infra.apply import apply, load_spec

HERE = Path(__file__).resolve().parent
REGION = "us-east-1"
START_SECONDS = 120.0  # six processes importing at once on two cores
# The model the compatible chat is told it talks to: its row of the default price table
# prices the answers, and the context matches what that model has.
PRICED_MODEL = "gpt-4o-mini"
PRICED_MODEL_CONTEXT = 128_000
UNLIMITED_TOKENS = 1_000_000_000  # a run asks far more than a user's default day


def machine_facts(load_at_start: list[float]) -> dict[str, object]:
    """What a result file says about the machine it was measured on."""
    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "load_average_at_start": load_at_start,
        "load_average_at_end": list(os.getloadavg()),
    }


def cpu_ms(pid: int) -> float:
    """User and system CPU time ``pid`` has used (Linux /proc), in ms."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])  # utime, stime: the 14th and 15th fields
    return ticks * 1000 / os.sysconf("SC_CLK_TCK")


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


@dataclass
class Server:
    name: str
    url: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


def start_server(name: str, app: str, env: Mapping[str, str], *, factory: bool = False) -> Server:
    """``app`` in its own uvicorn process (own session, so it is stopped as a group)."""
    port = free_port()
    command = [sys.executable, "-m", "uvicorn", app, "--port", str(port)]
    command += ["--log-level", "warning", "--no-access-log"]
    if factory:  # the scripted model server: a module of this folder
        command += ["--factory", "--app-dir", str(HERE)]
    log_path = Path(tempfile.gettempdir()) / f"marketscope-bench-chat-{name}.log"
    with log_path.open("wb") as output:
        process = subprocess.Popen(
            command,
            env={**os.environ, **env},
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return Server(name, f"http://127.0.0.1:{port}", process, log_path)


def _healthy(url: str) -> bool:
    with contextlib.suppress(httpx.HTTPError):
        return httpx.get(f"{url}/healthz", timeout=1).status_code == 200
    return False


def wait_healthy(servers: list[Server], seconds: float = START_SECONDS) -> None:
    deadline = time.monotonic() + seconds
    waiting = list(servers)
    while waiting:
        for server in list(waiting):
            if server.process.poll() is not None:
                raise RuntimeError(f"{server.name} stopped at start-up; see {server.log_path}")
            if _healthy(server.url):
                waiting.remove(server)
        if waiting and time.monotonic() > deadline:
            names = ", ".join(server.name for server in waiting)
            raise RuntimeError(f"{names} did not answer /healthz within {seconds:g} s")
        time.sleep(0.2)


@dataclass(frozen=True)
class Stack:
    internal_key: str
    emulator: str
    market_data: str
    market_data_pid: int
    rag: str
    chat: str  # the offline engine
    chat_priced: str  # the compatible provider, against the scripted model server ("" if off)
    model_server: str  # "" if off
    gateway: str


@contextlib.contextmanager
def running_stack(
    *, priced: bool = True, env: Mapping[str, Mapping[str, str]] | None = None
) -> Iterator[Stack]:
    """``env``: extra variables by server name (``market-data``, ``rag``, ``chat``,
    ``chat-priced``, ``gateway``)."""
    extra = env or {}
    key = secrets.token_urlsafe(48)  # 48 random bytes: a key no published default matches
    with EmulatorProcess(port=free_port()) as emulator:
        log(f"emulator on {emulator.endpoint}; provisioning")
        apply(load_spec(), Clients(emulator.endpoint, REGION))
        common = {
            "AWS_ENDPOINT_URL": emulator.endpoint,
            "AWS_DEFAULT_REGION": REGION,
            "MARKETSCOPE_INTERNAL_KEY": key,
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
                        **extra.get("market-data", {}),
                    },
                )
            )
            market_data, market_data_pid = servers[-1].url, servers[-1].process.pid
            index = Path(tempfile.mkdtemp(prefix="marketscope-bench-chat-")) / "chroma"
            servers.append(
                start_server(
                    "rag",
                    "marketscope_rag.main:app",
                    {
                        **common,
                        "MARKETSCOPE_RAG_INDEX_PATH": str(index),
                        "MARKETSCOPE_RAG_POLL_WAIT_SECONDS": "1",
                        "MARKETSCOPE_RAG_LOG_LEVEL": "WARNING",
                        **extra.get("rag", {}),
                    },
                )
            )
            rag = servers[-1].url
            chat_env = {
                **common,
                "MARKETSCOPE_CHAT_MARKET_DATA_URL": market_data,
                "MARKETSCOPE_CHAT_RAG_URL": rag,
                "MARKETSCOPE_CHAT_DAILY_TOKEN_BUDGET": str(UNLIMITED_TOKENS),
                "MARKETSCOPE_CHAT_LOG_LEVEL": "WARNING",
            }
            servers.append(
                start_server(
                    "chat", "marketscope_chat.main:app", {**chat_env, **extra.get("chat", {})}
                )
            )
            chat = servers[-1].url
            chat_priced = model_server = ""
            if priced:
                servers.append(start_server("model", "fake_model:create_app", {}, factory=True))
                model_server = servers[-1].url
                priced_env = {
                    **chat_env,
                    "MARKETSCOPE_CHAT_LLM_PROVIDER": "compatible",
                    "MARKETSCOPE_CHAT_LLM_BASE_URL": f"{model_server}/v1",
                    "MARKETSCOPE_CHAT_LLM_API_KEY": "bench-model-key",
                    "MARKETSCOPE_CHAT_LLM_MODEL": PRICED_MODEL,
                    "MARKETSCOPE_CHAT_LLM_CONTEXT_TOKENS": str(PRICED_MODEL_CONTEXT),
                    "MARKETSCOPE_CHAT_LLM_MAX_RETRIES": "0",
                    **extra.get("chat-priced", {}),
                }
                servers.append(start_server("chat-priced", "marketscope_chat.main:app", priced_env))
                chat_priced = servers[-1].url
            servers.append(
                start_server(
                    "gateway",
                    "marketscope_gateway.main:app",
                    {
                        **common,
                        "MARKETSCOPE_GATEWAY_CHAT_URL": chat,
                        "MARKETSCOPE_GATEWAY_MARKET_DATA_URL": market_data,
                        "MARKETSCOPE_GATEWAY_RAG_URL": rag,
                        "MARKETSCOPE_GATEWAY_RATE_LIMIT_PER_USER": "100000000/minute",
                        "MARKETSCOPE_GATEWAY_RATE_LIMIT_PER_IP": "100000000/minute",
                        "MARKETSCOPE_GATEWAY_LOG_LEVEL": "WARNING",
                        **extra.get("gateway", {}),
                    },
                )
            )
            gateway = servers[-1].url
            log(f"starting {', '.join(server.name for server in servers)}")
            wait_healthy(servers)
            yield Stack(
                internal_key=key,
                emulator=emulator.endpoint,
                market_data=market_data,
                market_data_pid=market_data_pid,
                rag=rag,
                chat=chat,
                chat_priced=chat_priced,
                model_server=model_server,
                gateway=gateway,
            )
        finally:
            for server in reversed(servers):
                server.stop()
