"""docker-compose.yml against the service registry: every service of
``marketscope_platform.topology.SERVICES`` is built, published, configured and health-checked
the way the registry and its ``Settings`` say."""

from __future__ import annotations

import importlib
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic_settings import BaseSettings

from marketscope_platform.topology import SERVICES, ServiceInfo

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
LOCALSTACK_ENDPOINT = "http://localstack:4566"
READY_HOOKS = "/etc/localstack/init/ready.d"

by_service = pytest.mark.parametrize("info", list(SERVICES.values()), ids=list(SERVICES))


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    with COMPOSE_FILE.open() as file:
        loaded: dict[str, Any] = yaml.safe_load(file)
    return loaded


def service(compose: dict[str, Any], name: str) -> dict[str, Any]:
    assert name in compose["services"], f"{name} is missing from docker-compose.yml"
    entry: dict[str, Any] = compose["services"][name]
    return entry


def environment(entry: dict[str, Any]) -> dict[str, str]:
    """Compose accepts a mapping or a list of ``NAME=value``; tests see a mapping."""
    env = entry.get("environment", {})
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {key: str(value) for key, value in env.items()}


def published_ports(entry: dict[str, Any]) -> list[tuple[int, int]]:
    """(host, container) pairs of short-syntax ``[ip:]host:container`` mappings."""
    pairs = []
    for mapping in entry.get("ports", []):
        parts = str(mapping).split("/")[0].split(":")
        assert len(parts) >= 2, f"port {mapping} is not published on a fixed host port"
        pairs.append((int(parts[-2]), int(parts[-1])))
    return pairs


def settings_class(info: ServiceInfo) -> type[BaseSettings]:
    settings: type[BaseSettings] = importlib.import_module(f"{info.module}.settings").Settings
    return settings


def healthcheck_command(entry: dict[str, Any]) -> str:
    assert "healthcheck" in entry, "no healthcheck"
    test = entry["healthcheck"]["test"]
    return " ".join(test) if isinstance(test, list) else str(test)


@by_service
def test_service_is_built_from_its_dockerfile(compose, info):
    build = service(compose, info.name)["build"]
    context = (COMPOSE_FILE.parent / build["context"]).resolve()
    assert context == ROOT, "the Dockerfiles copy workspace files: the context is the root"
    dockerfile = context / build["dockerfile"]
    assert dockerfile == ROOT / "services" / info.name / "Dockerfile"
    assert dockerfile.is_file()
    text = dockerfile.read_text()
    assert f"--package marketscope-{info.name}" in text
    assert f'"{info.app}", "--host", "0.0.0.0", "--port", "{info.port}"' in text
    assert f"http://127.0.0.1:{info.port}/healthz" in text


@by_service
def test_published_port_is_the_registry_port(compose, info):
    assert published_ports(service(compose, info.name)) == [(info.port, info.port)]


@by_service
def test_aws_points_at_localstack(compose, info):
    env = environment(service(compose, info.name))
    assert env["AWS_ENDPOINT_URL"] == LOCALSTACK_ENDPOINT
    assert env["AWS_DEFAULT_REGION"] == "us-east-1"
    assert env["AWS_ACCESS_KEY_ID"] == "test"
    assert env["AWS_SECRET_ACCESS_KEY"] == "test"
    assert env[f"{info.env_prefix}HOST"] == "0.0.0.0"


@by_service
def test_every_marketscope_variable_is_a_setting_of_that_service(compose, info):
    settings = settings_class(info)
    named = [
        key for key in environment(service(compose, info.name)) if key.startswith("MARKETSCOPE_")
    ]
    assert named, "expected at least the HOST setting"
    for key in named:
        assert key.startswith(info.env_prefix), f"{key} belongs to another service's prefix"
        field = key.removeprefix(info.env_prefix).lower()
        assert field in settings.model_fields, f"{key}: {settings.__module__} has no {field!r}"


@by_service
def test_healthcheck_probes_healthz_on_the_service_port(compose, info):
    command = healthcheck_command(service(compose, info.name))
    assert f"http://127.0.0.1:{info.port}/healthz" in command


@by_service
def test_service_starts_after_localstack_is_healthy(compose, info):
    depends_on = service(compose, info.name)["depends_on"]
    assert depends_on["localstack"]["condition"] == "service_healthy"


def test_gateway_reaches_each_service_by_its_compose_name_once_healthy(compose):
    gateway = service(compose, "gateway")
    env = environment(gateway)
    others = [info for name, info in SERVICES.items() if name != "gateway"]
    for info in others:
        variable = f"MARKETSCOPE_GATEWAY_{info.name.replace('-', '_').upper()}_URL"
        assert env[variable] == f"http://{info.name}:{info.port}"
        assert gateway["depends_on"][info.name]["condition"] == "service_healthy"


def test_localstack_offers_the_services_the_platform_uses(compose):
    localstack = service(compose, "localstack")
    assert localstack["image"].startswith("localstack/localstack:")
    enabled = set(environment(localstack)["SERVICES"].split(","))
    assert {"dynamodb", "sns", "sqs", "s3"} <= enabled
    assert (4566, 4566) in published_ports(localstack)


def test_localstack_mounts_the_provisioning_hook_and_infra(compose):
    volumes: dict[str, str] = {}
    for volume in service(compose, "localstack")["volumes"]:
        source, target, *_ = str(volume).split(":")
        volumes[target] = source
    assert READY_HOOKS in volumes
    assert "/opt/marketscope/infra" in volumes
    for target in (READY_HOOKS, "/opt/marketscope/infra"):
        source = (COMPOSE_FILE.parent / volumes[target]).resolve()
        # A missing source would be created empty by Docker: no hook would ever run.
        assert source.is_dir(), f"{volumes[target]} (mounted at {target}) does not exist"
        assert source.is_relative_to(ROOT / "infra" / "localstack")


def test_localstack_is_healthy_only_after_the_init_hooks(compose):
    command = healthcheck_command(service(compose, "localstack"))
    assert "/_localstack/init/ready" in command
    assert '"completed"' in command


def _docker_engine_problem(docker: str | None) -> str | None:
    if docker is None:
        return "the docker CLI is not installed"
    info = subprocess.run([docker, "info"], capture_output=True, text=True, timeout=60)
    if info.returncode != 0:
        reason = (info.stderr.strip().splitlines() or ["docker info failed"])[-1]
        return f"no Docker engine: {reason}"
    plugin = subprocess.run([docker, "compose", "version"], capture_output=True, timeout=60)
    if plugin.returncode != 0:
        return "the docker compose plugin is not installed"
    return None


@pytest.mark.docker
def test_docker_compose_accepts_the_file():
    docker = shutil.which("docker")
    problem = _docker_engine_problem(docker)
    if problem is not None:
        pytest.skip(problem)
    assert docker is not None
    result = subprocess.run(
        [docker, "compose", "-f", str(COMPOSE_FILE), "config", "--quiet"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
