"""How `marketscope up` launches a service, as the image does: ``python -m <module>``, with
host and port in the service's own settings variables (``--port-offset`` included), served
by ``marketscope_servicekit.serve`` with the registry's app."""

from __future__ import annotations

import runpy
import sys
from typing import Any

import pytest
import uvicorn
from rich.console import Console

from marketscope_cli.stack import Stack, StackOptions, local_state_env, service_process
from marketscope_platform.topology import SERVICES, ServiceInfo
from marketscope_servicekit.internal_key import DEVELOPMENT_KEY, ENV_VARIABLE, MIN_KEY_BYTES

by_service = pytest.mark.parametrize("info", list(SERVICES.values()), ids=list(SERVICES))
OFFSET = 300
RUN_KEY = "r" * 64


@by_service
def test_up_runs_python_m_with_host_and_port_in_the_settings_variables(info: ServiceInfo):
    options = StackOptions(port_offset=OFFSET)
    managed = service_process(options, "http://127.0.0.1:4566", info, RUN_KEY)
    assert managed.command == [sys.executable, "-m", info.module]
    assert managed.env[f"{info.env_prefix}PORT"] == str(info.port + OFFSET)
    assert managed.env[f"{info.env_prefix}HOST"] == "127.0.0.1"


@by_service
def test_up_hands_every_service_the_runs_key(info: ServiceInfo, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv(ENV_VARIABLE, DEVELOPMENT_KEY)  # a key in the shell never wins
    managed = service_process(StackOptions(), "http://127.0.0.1:4566", info, RUN_KEY)
    assert managed.env[ENV_VARIABLE] == RUN_KEY


def test_every_run_of_up_makes_its_own_random_key():
    keys = {Stack(StackOptions(), Console()).internal_key for _ in range(20)}
    assert len(keys) == 20
    assert DEVELOPMENT_KEY not in keys
    assert min(len(key.encode()) for key in keys) >= MIN_KEY_BYTES


@by_service
def test_python_m_serves_the_registry_app_where_up_says(
    info: ServiceInfo, monkeypatch: pytest.MonkeyPatch
):
    managed = service_process(
        StackOptions(port_offset=OFFSET), "http://127.0.0.1:4566", info, RUN_KEY
    )
    for name in ("HOST", "PORT"):
        monkeypatch.setenv(info.env_prefix + name, managed.env[info.env_prefix + name])
    served: list[tuple[str, dict[str, Any]]] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: served.append((app, options)))

    runpy.run_module(info.module, run_name="__main__")

    [(app, options)] = served
    assert app == info.app
    assert (options["host"], options["port"]) == ("127.0.0.1", info.port + OFFSET)
    assert options["log_config"] is None  # the app's JSON logging stays in place
    assert options["ws_per_message_deflate"] is False
    assert options["access_log"] is False
    # X-Forwarded-For from loopback is not believed (uvicorn's default would).
    assert options["proxy_headers"] is False


def test_a_run_on_its_own_emulator_keeps_local_state_in_a_directory_of_its_own(tmp_path):
    extra = local_state_env(tmp_path, {})
    assert extra == {"MARKETSCOPE_RAG_INDEX_PATH": str(tmp_path / "rag" / "index")}
    for info in SERVICES.values():
        env = service_process(StackOptions(), "http://127.0.0.1:4566", info, RUN_KEY, extra).env
        placed = env.get("MARKETSCOPE_RAG_INDEX_PATH")
        if info.name == "rag":
            assert placed == str(tmp_path / "rag" / "index")
        else:
            assert placed is None or placed != str(tmp_path / "rag" / "index")


def test_a_place_named_in_the_environment_wins(tmp_path):
    chosen = {"MARKETSCOPE_RAG_INDEX_PATH": "/srv/index"}
    assert local_state_env(tmp_path, chosen) == {}


def test_local_state_follows_whether_the_run_started_its_emulator(monkeypatch):
    monkeypatch.delenv("MARKETSCOPE_RAG_INDEX_PATH", raising=False)
    stack = Stack(StackOptions(), Console())
    assert stack._local_state() == {}  # an emulator already running: its state persists
    stack._started_emulator = True
    extra = stack._local_state()
    assert stack._run_dir is not None
    assert stack._run_dir.exists()
    assert extra["MARKETSCOPE_RAG_INDEX_PATH"].startswith(str(stack._run_dir))
    stack._run_dir.rmdir()
