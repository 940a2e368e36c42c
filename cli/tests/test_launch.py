"""How `marketscope up` launches a service, as the image does: ``python -m <module>``, with
host and port in the service's own settings variables (``--port-offset`` included), served
by ``marketscope_servicekit.serve`` with the registry's app."""

from __future__ import annotations

import runpy
import sys
from typing import Any

import pytest
import uvicorn

from marketscope_cli.stack import StackOptions, service_process
from marketscope_platform.topology import SERVICES, ServiceInfo

by_service = pytest.mark.parametrize("info", list(SERVICES.values()), ids=list(SERVICES))
OFFSET = 300


@by_service
def test_up_runs_python_m_with_host_and_port_in_the_settings_variables(info: ServiceInfo):
    managed = service_process(StackOptions(port_offset=OFFSET), "http://127.0.0.1:4566", info)
    assert managed.command == [sys.executable, "-m", info.module]
    assert managed.env[f"{info.env_prefix}PORT"] == str(info.port + OFFSET)
    assert managed.env[f"{info.env_prefix}HOST"] == "127.0.0.1"


@by_service
def test_python_m_serves_the_registry_app_where_up_says(
    info: ServiceInfo, monkeypatch: pytest.MonkeyPatch
):
    managed = service_process(StackOptions(port_offset=OFFSET), "http://127.0.0.1:4566", info)
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
