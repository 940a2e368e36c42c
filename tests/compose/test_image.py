"""services/Dockerfile, the one image of every service, read and run without Docker: for
each service of ``marketscope_platform.topology.SERVICES`` it installs the workspace members
the pyprojects say the service needs, exposes and probes the registry port, and starts
``python -m marketscope_<service>`` as PID 1. Changing one of those facts fails a test
(``test_changing_one_fact_in_the_dockerfile_fails_its_check``)."""

from __future__ import annotations

import glob
import http.server
import json
import os
import re
import shlex
import subprocess
import sys
import tempfile
import threading
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from marketscope_emulator import free_port
from marketscope_platform.topology import SERVICES, ServiceInfo

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "services" / "Dockerfile"

by_service = pytest.mark.parametrize("info", list(SERVICES.values()), ids=list(SERVICES))


@pytest.fixture(scope="module")
def dockerfile() -> str:
    return DOCKERFILE.read_text()


def build_args(info: ServiceInfo) -> dict[str, str]:
    """The build arguments services/Dockerfile needs for ``info`` (compose passes them)."""
    return {"SERVICE": info.name, "PORT": str(info.port)}


# The workspace, from its pyprojects.


def workspace_members() -> dict[str, Path]:
    """Distribution name -> folder, for every member the root pyproject's globs match."""
    root = tomllib.loads((ROOT / "pyproject.toml").read_text())
    members: dict[str, Path] = {}
    for pattern in root["tool"]["uv"]["workspace"]["members"]:
        for folder in sorted(glob.glob(pattern, root_dir=ROOT)):
            manifest = ROOT / folder / "pyproject.toml"
            if manifest.is_file():
                name = tomllib.loads(manifest.read_text())["project"]["name"]
                members[canonicalize_name(name)] = Path(folder)
    return members


def members_needed_by(info: ServiceInfo) -> set[Path]:
    """The service's folder and every workspace member it depends on, transitively."""
    members = workspace_members()
    needed: set[Path] = set()
    pending = [canonicalize_name(f"marketscope-{info.name}")]
    while pending:
        name = pending.pop()
        folder = members[name]
        if folder in needed:
            continue
        needed.add(folder)
        project = tomllib.loads((ROOT / folder / "pyproject.toml").read_text())["project"]
        for dependency in project.get("dependencies", []):
            requirement = canonicalize_name(Requirement(dependency).name)
            if requirement in members:
                pending.append(requirement)
    return needed


# The Dockerfile, read the way the builder reads it.


@dataclass(frozen=True)
class Instruction:
    keyword: str
    arguments: str

    def exec_form(self) -> list[str]:
        """The JSON array of an exec-form CMD (or HEALTHCHECK's CMD)."""
        text = self.arguments
        if self.keyword == "HEALTHCHECK":
            text = text.split(" CMD ", 1)[1]
        loaded = json.loads(text)
        assert isinstance(loaded, list), f"{self.keyword} is not in exec form: {text}"
        return [str(item) for item in loaded]


def instructions(text: str, args: dict[str, str]) -> list[Instruction]:
    """Continuation lines joined, comments dropped, ``${ARG}`` substituted by ``args``."""
    logical: list[str] = []
    current = ""
    for line in text.splitlines():
        if line.lstrip().startswith("#"):
            continue
        if line.endswith("\\"):
            current += line[:-1]
            continue
        current += line
        if current.strip():
            logical.append(current.strip())
        current = ""
    result = []
    for line in logical:
        for name, value in args.items():
            line = line.replace("${" + name + "}", value)
        keyword, _, arguments = line.partition(" ")
        result.append(Instruction(keyword.upper(), arguments.strip()))
    return result


def only(found: list[Instruction], keyword: str) -> Instruction:
    matching = [item for item in found if item.keyword == keyword]
    assert len(matching) == 1, f"expected one {keyword}, found {len(matching)}"
    return matching[0]


def image_environment(found: list[Instruction]) -> dict[str, str]:
    """What the ENV instructions set (values without spaces, as ours are)."""
    env: dict[str, str] = {}
    for item in found:
        if item.keyword == "ENV":
            for assignment in shlex.split(item.arguments):
                name, _, value = assignment.partition("=")
                env[name] = value
    return env


def uv_sync_steps(found: list[Instruction]) -> list[int]:
    return [
        index
        for index, item in enumerate(found)
        if item.keyword == "RUN" and item.arguments.startswith("uv sync")
    ]


def copied(found: list[Instruction], before: int) -> set[tuple[str, str]]:
    """(source, destination) of the COPY instructions before instruction ``before``."""
    pairs = set()
    for item in found[:before]:
        if item.keyword == "COPY":
            *sources, destination = item.arguments.split()
            pairs.update((source, destination) for source in sources)
    return pairs


# The checks: each holds the image to the registry and the workspace for one service.


def check_image_copies_what_uv_needs(dockerfile: str, info: ServiceInfo) -> None:
    found = instructions(dockerfile, build_args(info))
    dependencies, install = uv_sync_steps(found)
    for step in (dependencies, install):
        assert "--frozen --no-dev" in found[step].arguments
        assert f'--package "marketscope-{info.name}"' in found[step].arguments
    assert "--no-install-workspace" in found[dependencies].arguments
    manifests, sources = copied(found, dependencies), copied(found, install)
    assert {("pyproject.toml", "./"), ("uv.lock", "./")} <= manifests
    for folder in sorted(members_needed_by(info)):
        assert (f"{folder}/pyproject.toml", f"{folder}/") in manifests, f"{folder}'s manifest"
        assert (str(folder), str(folder)) in sources, f"{folder}'s sources"
    early = {
        source for source, _ in manifests if not source.endswith(("pyproject.toml", "uv.lock"))
    }
    assert not early, f"{early} before the dependency layer: every edit would reinstall it all"


def check_image_cmd_runs_python_m(dockerfile: str, info: ServiceInfo) -> None:
    """The CMD, run as Docker would (exec form) with a stand-in ``python`` on PATH."""
    found = instructions(dockerfile, build_args(info))
    command = only(found, "CMD").exec_form()
    assert "python -m" in " ".join(command), command
    if command[:2] == ["sh", "-c"]:
        assert command[2].startswith("exec "), "without exec, sh is PID 1 and gets SIGTERM"
    with tempfile.TemporaryDirectory() as stand_in:
        python = Path(stand_in) / "python"
        python.write_text('#!/bin/sh\necho "$@"\n')
        python.chmod(0o755)
        env = {**image_environment(found), "PATH": f"{stand_in}:/usr/bin:/bin"}
        result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=10)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["-m", info.module]


def check_image_exposes_the_port(dockerfile: str, info: ServiceInfo) -> None:
    found = instructions(dockerfile, build_args(info))
    assert only(found, "EXPOSE").arguments == str(info.port)


def test_no_service_has_a_dockerfile_of_its_own():
    assert sorted((ROOT / "services").glob("*/Dockerfile")) == []


@by_service
def test_image_installs_the_workspace_members_the_service_needs(dockerfile, info):
    check_image_copies_what_uv_needs(dockerfile, info)


@by_service
def test_image_starts_the_service_with_python_m(dockerfile, info):
    check_image_cmd_runs_python_m(dockerfile, info)


@by_service
def test_image_exposes_the_registry_port(dockerfile, info):
    check_image_exposes_the_port(dockerfile, info)


class _Healthz(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200 if self.path == "/healthz" else 404)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def healthz_port() -> Iterator[int]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Healthz)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    thread.join()


def run_image_healthcheck(dockerfile: str, args: dict[str, str], env: dict[str, str]) -> int:
    found = instructions(dockerfile, args)
    command = only(found, "HEALTHCHECK").exec_form()
    assert command[0] == "python"
    full_env = {**image_environment(found), **env, "PATH": os.environ["PATH"]}
    result = subprocess.run(
        [sys.executable, *command[1:]], env=full_env, capture_output=True, timeout=30
    )
    return result.returncode


@by_service
def test_image_healthcheck_probes_the_port_its_settings_read(dockerfile, info, healthz_port):
    elsewhere = str(free_port())
    built_for_the_port = {**build_args(info), "PORT": str(healthz_port)}
    assert run_image_healthcheck(dockerfile, built_for_the_port, {}) == 0
    built_elsewhere = {**build_args(info), "PORT": elsewhere}
    assert run_image_healthcheck(dockerfile, built_elsewhere, {}) != 0
    overridden = {f"{info.env_prefix}PORT": str(healthz_port)}
    assert run_image_healthcheck(dockerfile, built_elsewhere, overridden) == 0


Check = Callable[[str, ServiceInfo], None]


def port_check(dockerfile: str, info: ServiceInfo) -> str:
    """The build step holding PORT to the service's settings: its ``python -c`` code."""
    found = instructions(dockerfile, build_args(info))
    steps = [
        item for item in found if item.keyword == "RUN" and "Settings().port" in item.arguments
    ]
    assert len(steps) == 1, "one build step compares PORT with the settings"
    program, flag, code = shlex.split(steps[0].arguments)
    assert (program, flag) == ("python", "-c")
    return code


@by_service
def test_build_refuses_a_port_the_settings_do_not_serve(dockerfile, info, monkeypatch):
    code = port_check(dockerfile, info)
    monkeypatch.delenv(f"{info.env_prefix}PORT", raising=False)
    monkeypatch.setenv("SERVICE", info.name)
    monkeypatch.setenv("SERVICE_PORT", str(info.port))
    exec(code, {})
    monkeypatch.setenv("SERVICE_PORT", str(info.port + 1))
    with pytest.raises(AssertionError, match=f"serves on {info.port}"):
        exec(code, {})


DOCKERFILE_MUTATIONS: dict[str, tuple[Callable[[str], str], Check]] = {
    "libs/platform's manifest not copied": (
        lambda text: text.replace("COPY libs/platform/pyproject.toml libs/platform/\n", ""),
        check_image_copies_what_uv_needs,
    ),
    "libs/events' sources not copied": (
        lambda text: text.replace("COPY libs/events libs/events\n", ""),
        check_image_copies_what_uv_needs,
    ),
    "started through uvicorn": (
        lambda text: re.sub(r"^CMD .*$", 'CMD ["uvicorn", "app"]', text, flags=re.MULTILINE),
        check_image_cmd_runs_python_m,
    ),
    "started without exec": (
        lambda text: text.replace('"exec python', '"python'),
        check_image_cmd_runs_python_m,
    ),
    "a fixed port exposed": (
        lambda text: text.replace("EXPOSE ${PORT}", "EXPOSE 8000"),
        check_image_exposes_the_port,
    ),
}


@pytest.mark.parametrize("change", list(DOCKERFILE_MUTATIONS))
def test_changing_one_fact_in_the_dockerfile_fails_its_check(dockerfile, change):
    mutate, check = DOCKERFILE_MUTATIONS[change]
    changed = mutate(dockerfile)
    assert changed != dockerfile, f"{change}: the mutation no longer applies"
    info = SERVICES["rag"]
    check(dockerfile, info)
    with pytest.raises(AssertionError):
        check(changed, info)
