"""Start, probe and stop the embedded emulator as a child process."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import IO, Literal

import httpx

ServerKind = Literal["gunicorn", "werkzeug", "ministack"]
# ministack pins an older botocore: it runs in its own environment made by uv.
MINISTACK_REQUIREMENT = "ministack==1.5.33"
HEALTH_PATHS: dict[ServerKind, str] = {
    "gunicorn": "/moto-api/data.json",
    "werkzeug": "/moto-api/data.json",
    "ministack": "/_ministack/health",
}


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def is_ready(endpoint: str, kind: ServerKind = "gunicorn") -> bool:
    try:
        return httpx.get(f"{endpoint}{HEALTH_PATHS[kind]}", timeout=2.0).status_code == 200
    except httpx.HTTPError:
        return False


def wait_until_ready(
    endpoint: str,
    *,
    kind: ServerKind = "gunicorn",
    timeout: float = 30.0,
    process: subprocess.Popen[bytes] | None = None,
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"the emulator exited with code {process.returncode} while starting")
        if is_ready(endpoint, kind):
            return
        time.sleep(0.1)
    raise TimeoutError(f"the emulator at {endpoint} was not ready after {timeout:.0f} s")


def reset_emulator(endpoint: str) -> None:
    """Forget every resource (moto's own reset API; the emulator only)."""
    httpx.post(f"{endpoint}/moto-api/reset", timeout=10.0).raise_for_status()


def server_env(host: str, port: int, kind: ServerKind) -> dict[str, str]:
    if kind == "ministack":
        # ministack binds 0.0.0.0 unless told otherwise.
        return {**os.environ, "GATEWAY_PORT": str(port), "BIND_HOST": host}
    return {**os.environ, "MOTO_PORT": str(port)}


def server_command(host: str, port: int, kind: ServerKind, threads: int = 64) -> list[str]:
    if kind == "ministack":
        return ["uv", "tool", "run", "--from", MINISTACK_REQUIREMENT, "ministack"]
    if kind == "werkzeug":
        return [sys.executable, "-m", "moto.server", "-H", host, "-p", str(port)]
    return [
        sys.executable, "-m", "gunicorn",
        "--worker-class", "gthread", "--workers", "1", "--threads", str(threads),
        "--bind", f"{host}:{port}",
        "--timeout", "120", "--graceful-timeout", "3",
        "--log-level", "warning",
        "marketscope_emulator.wsgi:app",
    ]  # fmt: skip


class EmulatorProcess:
    """moto's server on ``host:port`` as a child process; a context manager."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 4566,
        kind: ServerKind = "gunicorn",
        threads: int = 64,
        log_file: Path | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.kind = kind
        self.threads = threads
        self.log_file = log_file
        self._process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def endpoint(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def pid(self) -> int | None:
        return None if self._process is None else self._process.pid

    def start(self, *, timeout: float = 30.0) -> str:
        env = server_env(self.host, self.port, self.kind)
        output: IO[bytes] | int = subprocess.DEVNULL
        if self.log_file is not None:
            self.log_file.parent.mkdir(parents=True, exist_ok=True)
            self._log = output = self.log_file.open("ab")
        self._process = subprocess.Popen(
            server_command(self.host, self.port, self.kind, self.threads),
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            wait_until_ready(self.endpoint, kind=self.kind, timeout=timeout, process=self._process)
        except BaseException:
            self.stop()
            raise
        return self.endpoint

    def stop(self, *, timeout: float = 10.0) -> None:
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> EmulatorProcess:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
