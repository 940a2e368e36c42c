"""The stack the web benchmark measures: ``marketscope up``, the command a user runs,
started on free ports (``--port-offset``, its own emulator port) with rag's index in a
temporary folder, and stopped with Ctrl-C (SIGINT) as a user stops it."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from marketscope_emulator.process import free_port
from marketscope_platform.topology import SERVICES

READY_MARKER = "Ctrl-C stops everything"
READY_SECONDS = 180.0
STOP_SECONDS = 30.0


@dataclass(frozen=True)
class RunningStack:
    web_url: str
    emulator: str
    pid: int


def _free_offset() -> int:
    """A port offset at which every service's port is free."""
    for _ in range(50):
        offset = free_port() - SERVICES["gateway"].port
        if offset > 0 and all(_port_free(s.port + offset) for s in SERVICES.values()):
            return offset
    raise RuntimeError("no port offset with every service port free")


def _port_free(port: int) -> bool:
    if port >= 65536:
        return False
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) != 0


def _drain(process: subprocess.Popen[str]) -> None:
    """The services' logs keep coming after ready: read them so the pipe never fills."""
    assert process.stdout is not None
    for _ in process.stdout:
        pass


def _read_until_ready(process: subprocess.Popen[str], log_file: Path) -> None:
    assert process.stdout is not None
    deadline = time.monotonic() + READY_SECONDS
    with log_file.open("w") as log:
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line and process.poll() is not None:
                raise RuntimeError(f"marketscope up exited ({process.returncode}); see {log_file}")
            log.write(line)
            if READY_MARKER in line:
                return
    raise RuntimeError(f"marketscope up was not ready in {READY_SECONDS:g} s; see {log_file}")


@contextmanager
def running_stack(
    *, prefix: str = "marketscope-bench-web-", env_overrides: Mapping[str, str] | None = None
) -> Iterator[RunningStack]:
    """``env_overrides`` adds to (or overrides) the services' environment."""
    beside = Path(sys.executable).parent / "marketscope"  # this environment's own
    marketscope = str(beside) if beside.is_file() else shutil.which("marketscope")
    if marketscope is None:
        raise RuntimeError("the marketscope command is not installed: uv sync --all-packages")
    offset, emulator_port = _free_offset(), free_port()
    workdir = Path(tempfile.mkdtemp(prefix=prefix))
    emulator = f"http://127.0.0.1:{emulator_port}"
    env = {**os.environ, "AWS_ENDPOINT_URL": emulator, "COLUMNS": "200"}
    env["MARKETSCOPE_RAG_INDEX_PATH"] = str(workdir / "chroma")
    # One reader reloading the dashboard 60 times a minute is far above the gateway's
    # per-user and per-address limits, which are not what this benchmark measures.
    env["MARKETSCOPE_GATEWAY_RATE_LIMIT_PER_USER"] = "100000/minute"
    env["MARKETSCOPE_GATEWAY_RATE_LIMIT_PER_IP"] = "100000/minute"
    env.update(env_overrides or {})
    command = [marketscope, "up", "--emulator-port", str(emulator_port)]
    command += ["--port-offset", str(offset), "--ready-timeout", "120"]
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        _read_until_ready(process, workdir / "up.log")
        threading.Thread(target=_drain, args=(process,), daemon=True).start()
        yield RunningStack(
            f"http://127.0.0.1:{SERVICES['gateway'].port + offset}", emulator, process.pid
        )
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=STOP_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        shutil.rmtree(workdir, ignore_errors=True)
