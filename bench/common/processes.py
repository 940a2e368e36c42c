"""A benchmark's server processes, started and stopped the same way by every script that
serves an app of its own (bench/gateway, bench/registration, bench/market_data).

``running_server`` starts a command in a session of its own (so it is stopped as a
process group, with anything it forked), with the environment overlaid on this one's and
its output in ``marketscope-bench-<bench>-<name>.log`` in the temporary directory. It
polls a probe URL until that answers HTTP 200, and fails fast, naming the log, if the
process exits first or does not answer in time. On leaving, the group gets SIGTERM, then
SIGKILL if it has not exited within 30 s.

A script run by path has its own folder first on sys.path; it puts the repository root
there too to import this module as ``bench.common.processes``.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx

HOST = "127.0.0.1"
START_SECONDS = 60.0
STOP_SECONDS = 30.0
PROBE_EVERY_S = 0.2
PROBE_TIMEOUT_S = 1.0


@dataclass(frozen=True)
class RunningServer:
    name: str
    url: str  # http://127.0.0.1:<port>, no trailing slash
    pid: int  # the process's, and its process group's
    log_path: Path


def log_path(bench: str, name: str) -> Path:
    """Where ``name``'s output goes: ``marketscope-bench-<bench>-<name>.log``."""
    return Path(tempfile.gettempdir()) / f"marketscope-bench-{bench}-{name}.log"


@contextlib.contextmanager
def running_server(
    command: Sequence[str],
    *,
    bench: str,
    name: str,
    port: int,
    probe: str = "/healthz",
    env: Mapping[str, str] | None = None,
    start_seconds: float = START_SECONDS,
) -> Iterator[RunningServer]:
    """``command`` (which serves on ``port`` of the loopback address) until the block
    ends, once ``GET <url><probe>`` has answered 200."""
    output_path = log_path(bench, name)
    with output_path.open("wb") as output:
        process = subprocess.Popen(
            list(command),
            env={**os.environ, **(env or {})},
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = RunningServer(name, f"http://{HOST}:{port}", process.pid, output_path)
    try:
        _wait_answering(process, server, probe, start_seconds)
        yield server
    finally:
        stop(process)


def _wait_answering(
    process: subprocess.Popen[bytes], server: RunningServer, probe: str, seconds: float
) -> None:
    deadline = time.monotonic() + seconds
    while True:
        code = process.poll()
        if code is not None:
            raise RuntimeError(
                f"{server.name} exited with code {code} at start-up; see {server.log_path}"
            )
        if _answers(server.url + probe):
            return
        if time.monotonic() > deadline:
            raise TimeoutError(
                f"{server.name} did not answer {probe} with 200 within {seconds:g} s; "
                f"see {server.log_path}"
            )
        time.sleep(PROBE_EVERY_S)


def _answers(url: str) -> bool:
    with contextlib.suppress(httpx.HTTPError):
        return httpx.get(url, timeout=PROBE_TIMEOUT_S).status_code == 200
    return False


def stop(process: subprocess.Popen[bytes], seconds: float = STOP_SECONDS) -> None:
    """SIGTERM to ``process``'s group (its session's), SIGKILL if it is still running
    after ``seconds``."""
    _signal_group(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        _signal_group(process.pid, signal.SIGKILL)
        process.wait()


def _signal_group(pgid: int, signum: signal.Signals) -> None:
    # The group is gone when the process exited at start-up and forked nothing.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signum)
