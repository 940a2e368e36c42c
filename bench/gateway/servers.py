"""The benchmark's servers: each its own uvicorn process under the services' own uvicorn
options (`serve_app`), started, probed until it answers, and stopped with its process
group (`bench.common.processes`; run.py puts the root on sys.path); and the CPU each one
(and this load client) spends, read from the kernel's accounting (psutil), so the cost of
a request can be told apart from what the load client could send."""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import httpx
import psutil

from bench.common.processes import RunningServer, running_server

SERVE_APP = Path(__file__).with_name("serve_app.py")
LOAD_CLIENT = "load client"


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


@contextlib.contextmanager
def server(
    name: str, app: str, port: int, env: Mapping[str, str], app_dir: Path | None = None
) -> Iterator[RunningServer]:
    """``app`` served by `serve_app` on ``port`` until it answers ``/healthz`` (the hello
    has only ``/``); its log is ``marketscope-bench-gateway-<name>.log``."""
    command = [sys.executable, str(SERVE_APP), app, str(port)]
    if app_dir is not None:
        command.append(str(app_dir))
    probe = "/healthz" if name != "hello" else "/"
    with running_server(
        command, bench="gateway", name=name, port=port, probe=probe, env=env
    ) as served:
        log(f"{name} up on {served.url} (pid {served.pid})")
        yield served


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


class CpuMeter:
    """User plus system CPU seconds each named process (with its children: the
    emulator's gunicorn worker) has used so far."""

    def __init__(self, pids: Mapping[str, int]) -> None:
        self._groups: dict[str, list[psutil.Process]] = {}
        for name, pid in pids.items():
            process = psutil.Process(pid)
            self._groups[name] = [process, *process.children(recursive=True)]
        self._groups[LOAD_CLIENT] = [psutil.Process(os.getpid())]

    def read(self) -> dict[str, float]:
        used: dict[str, float] = {}
        for name, processes in self._groups.items():
            total = 0.0
            for process in processes:
                with contextlib.suppress(psutil.Error):
                    times = process.cpu_times()
                    total += times.user + times.system
            used[name] = total
        return used


def cpu_spent(before: Mapping[str, float], after: Mapping[str, float]) -> dict[str, float]:
    return {name: after[name] - before.get(name, 0.0) for name in after}
