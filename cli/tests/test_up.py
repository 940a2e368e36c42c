"""`marketscope up` as a user runs it: a real subprocess, real ports, Ctrl-C."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest

from marketscope_emulator import free_port
from marketscope_platform.topology import SERVICES
from marketscope_servicekit import Identity, sign_identity
from marketscope_servicekit.internal_key import DEVELOPMENT_KEY, ENV_VARIABLE

pytestmark = pytest.mark.integration

MARKETSCOPE = Path(sys.executable).with_name("marketscope")


def free_offset() -> int:
    """An offset that puts all five service ports on free loopback ports."""
    for offset in range(21000, 40000, 100):
        ports = [s.port + offset for s in SERVICES.values()]
        if all(_free(port) for port in ports):
            return offset
    raise RuntimeError("no free block of ports")


def _is_service(process: psutil.Process) -> bool:
    command = process.cmdline()
    return len(command) >= 3 and command[1] == "-m" and command[2].startswith("marketscope_")


def _free(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


def start_up(offset: int, emulator_port: int, index_dir: Path) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if k != "AWS_ENDPOINT_URL"}
    env["MARKETSCOPE_RAG_INDEX_PATH"] = str(index_dir)
    env["AWS_ENDPOINT_URL"] = f"http://127.0.0.1:{emulator_port}"
    env["COLUMNS"] = "200"
    return subprocess.Popen(
        [str(MARKETSCOPE), "up", "--emulator-port", str(emulator_port),
         "--port-offset", str(offset), "--ready-timeout", "60"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip


def read_until(process: subprocess.Popen[str], marker: str, limit_seconds: float) -> list[str]:
    assert process.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + limit_seconds
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line and process.poll() is not None:
            break
        lines.append(line.rstrip())
        if marker in line:
            return lines
    raise AssertionError(f"{marker!r} not seen; output:\n" + "\n".join(lines))


@pytest.fixture
def stopper() -> Iterator[list[subprocess.Popen[str]]]:
    started: list[subprocess.Popen[str]] = []
    yield started
    for process in started:
        if process.poll() is None:  # the test failed midway: stop the whole tree
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def test_up_reaches_ready_and_ctrl_c_leaves_no_process(
    stopper: list[subprocess.Popen[str]], tmp_path: Path
) -> None:
    offset, emulator_port = free_offset(), free_port()
    began = time.monotonic()
    up = start_up(offset, emulator_port, tmp_path)
    stopper.append(up)
    output = read_until(up, "Ctrl-C stops everything", limit_seconds=120)
    ready_after = time.monotonic() - began
    print(f"ready after {ready_after:.1f} s")
    assert any("starter knowledge base: 4 shared documents" in line for line in output)
    gateway = f"http://127.0.0.1:{SERVICES['gateway'].port + offset}"
    [ready_line] = [i for i, line in enumerate(output) if "MarketScope is ready" in line]
    assert output[ready_line - 1].strip() == f"Open the web app: {gateway}/"  # before the table
    page = httpx.get(f"{gateway}/", timeout=5)
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")

    for service in SERVICES.values():
        url = f"http://127.0.0.1:{service.port + offset}"
        assert httpx.get(f"{url}/readyz", timeout=5).status_code == 200, service.name
        assert any(f":{service.port + offset}" in line for line in output), service.name
    children = psutil.Process(up.pid).children(recursive=True)
    assert len(children) >= 6  # the emulator and five services, at least
    # The starter knowledge base above went in signed with the run's key; every service
    # has that key, which is neither the published one nor what `up`'s shell held.
    run_keys = {child.environ()[ENV_VARIABLE] for child in children if _is_service(child)}
    assert len(run_keys) == 1
    assert run_keys.isdisjoint({DEVELOPMENT_KEY, os.environ.get(ENV_VARIABLE)})
    rag = f"http://127.0.0.1:{SERVICES['rag'].port + offset}"
    forged = sign_identity(
        DEVELOPMENT_KEY,
        Identity("admin", frozenset({"admin"})),
        method="GET",
        path_with_query="/documents",
    )
    assert httpx.get(f"{rag}/documents", headers=forged, timeout=5).status_code == 401

    up.send_signal(signal.SIGINT)
    assert up.wait(timeout=30) == 0
    time.sleep(0.5)
    alive = [c for c in children if c.is_running() and c.status() != psutil.STATUS_ZOMBIE]
    assert alive == []
    assert _free(emulator_port)
    assert all(_free(s.port + offset) for s in SERVICES.values())


def test_a_service_that_cannot_start_is_reported_with_its_log(
    stopper: list[subprocess.Popen[str]], tmp_path: Path
) -> None:
    offset, emulator_port = free_offset(), free_port()
    blocker = socket.socket()
    # The previous test may have left this port in TIME_WAIT; a listener still blocks it.
    blocker.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    blocker.bind(("127.0.0.1", SERVICES["rag"].port + offset))
    blocker.listen()
    try:
        up = start_up(offset, emulator_port, tmp_path)
        stopper.append(up)
        assert up.wait(timeout=90) == 1
        assert up.stdout is not None
        output = up.stdout.read()
    finally:
        blocker.close()
    assert "rag exited with code" in output
    assert "last lines of rag" in output
    assert "address already in use" in output.lower()
    assert _free(emulator_port)


def test_children_die_with_a_killed_supervisor(
    stopper: list[subprocess.Popen[str]], tmp_path: Path
) -> None:
    offset, emulator_port = free_offset(), free_port()
    up = start_up(offset, emulator_port, tmp_path)
    stopper.append(up)
    read_until(up, "Ctrl-C stops everything", limit_seconds=120)
    children = psutil.Process(up.pid).children(recursive=True)
    assert len(children) >= 6

    up.kill()  # no chance to clean up
    up.wait()
    # Each child gets SIGTERM from the kernel and shuts down; against an emulator that is
    # gone too, a service's last AWS calls run out their retries first.
    gone, alive = psutil.wait_procs(children, timeout=60)
    assert [" ".join(c.cmdline()[2:4]) for c in alive] == []
    assert len(gone) == len(children)
