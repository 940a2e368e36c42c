"""docker-compose.yml against the service registry: every service of
``marketscope_platform.topology.SERVICES`` is built from services/Dockerfile for its name
and port, published, configured and health-checked the way the registry and its
``Settings`` say, with an identity key compose refuses to run without. Changing one of
those facts fails a test (``test_changing_one_fact_in_compose_fails_its_check``); the
image itself is held to the registry in test_image.py."""

from __future__ import annotations

import copy
import importlib
import os
import re
import secrets
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic_settings import BaseSettings

from marketscope_platform.topology import SERVICES, ServiceInfo
from marketscope_servicekit.internal_key import DEVELOPMENT_KEY, MIN_KEY_BYTES, InternalKeySettings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "services" / "Dockerfile"
LOCALSTACK_ENDPOINT = "http://localstack:4566"
READY_HOOKS = "/etc/localstack/init/ready.d"
INTERNAL_KEY = (
    str(InternalKeySettings.model_config.get("env_prefix", "")) + "internal_key"
).upper()
REQUIRED_INTERNAL_KEY = re.compile(r"\$\{" + INTERNAL_KEY + r":\?(?P<message>[^}]+)\}")

by_service = pytest.mark.parametrize("info", list(SERVICES.values()), ids=list(SERVICES))
Compose = dict[str, Any]


@pytest.fixture(scope="module")
def compose() -> Compose:
    with COMPOSE_FILE.open() as file:
        loaded: Compose = yaml.safe_load(file)
    return loaded


def service(compose: Compose, name: str) -> dict[str, Any]:
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


# The checks: each holds compose to the registry for one service.


def check_built_from_the_shared_dockerfile(compose: Compose, info: ServiceInfo) -> None:
    build = service(compose, info.name)["build"]
    context = (COMPOSE_FILE.parent / build["context"]).resolve()
    assert context == ROOT, "the Dockerfile copies workspace files: the context is the root"
    assert (context / build["dockerfile"]).resolve() == DOCKERFILE
    args = {key: str(value) for key, value in build.get("args", {}).items()}
    assert args == {"SERVICE": info.name, "PORT": str(info.port)}
    # The image exposes and probes PORT; the service listens where its settings say.
    assert settings_class(info).model_fields["port"].default == info.port


def check_published_port_is_the_registry_port(compose: Compose, info: ServiceInfo) -> None:
    assert published_ports(service(compose, info.name)) == [(info.port, info.port)]


def check_environment(compose: Compose, info: ServiceInfo) -> None:
    env = environment(service(compose, info.name))
    assert env.get("AWS_ENDPOINT_URL") == LOCALSTACK_ENDPOINT
    assert env.get("AWS_DEFAULT_REGION") == "us-east-1"
    assert env.get("AWS_ACCESS_KEY_ID") == "test"
    assert env.get("AWS_SECRET_ACCESS_KEY") == "test"
    assert env.get(f"{info.env_prefix}HOST") == "0.0.0.0", "the service would bind loopback"
    required = REQUIRED_INTERNAL_KEY.fullmatch(env.get(INTERNAL_KEY, ""))
    assert required, f"{INTERNAL_KEY} must be required (${{{INTERNAL_KEY}:?how to make one}})"
    assert "secrets.token_urlsafe" in required["message"], "the message says how to make one"
    # The services refuse shorter keys off loopback (LocalStack is not): say so up front.
    assert f"at least {MIN_KEY_BYTES} bytes" in required["message"]


def check_marketscope_variables_are_settings(compose: Compose, info: ServiceInfo) -> None:
    settings = settings_class(info)
    named = [
        key
        for key in environment(service(compose, info.name))
        if key.startswith("MARKETSCOPE_") and key != INTERNAL_KEY
    ]
    assert named, "expected at least the HOST setting"
    for key in named:
        assert key.startswith(info.env_prefix), f"{key} belongs to another service's prefix"
        field = key.removeprefix(info.env_prefix).lower()
        assert field in settings.model_fields, f"{key}: {settings.__module__} has no {field!r}"


def check_healthcheck_port(compose: Compose, info: ServiceInfo) -> None:
    command = healthcheck_command(service(compose, info.name))
    probed = re.findall(r"http://127\.0\.0\.1:(\d+)/healthz", command)
    assert probed == [str(info.port)], command


def check_caller_urls(compose: Compose, info: ServiceInfo) -> None:
    """Every service that calls ``info`` (``ServiceInfo.calls``) reaches it by its compose
    name and starts once it is healthy."""
    for caller in (c for c in SERVICES.values() if info.name in c.calls):
        calling = service(compose, caller.name)
        variable = f"{caller.env_prefix}{info.name.replace('-', '_').upper()}_URL"
        assert environment(calling)[variable] == f"http://{info.name}:{info.port}"
        assert calling["depends_on"][info.name]["condition"] == "service_healthy"


@by_service
def test_service_is_built_from_the_shared_dockerfile(compose, info):
    check_built_from_the_shared_dockerfile(compose, info)


@by_service
def test_published_port_is_the_registry_port(compose, info):
    check_published_port_is_the_registry_port(compose, info)


@by_service
def test_aws_points_at_localstack_on_all_interfaces_with_a_required_key(compose, info):
    check_environment(compose, info)


def test_compose_publishes_no_identity_key():
    assert DEVELOPMENT_KEY not in COMPOSE_FILE.read_text()


@by_service
def test_every_marketscope_variable_is_a_setting_of_that_service(compose, info):
    check_marketscope_variables_are_settings(compose, info)


@by_service
def test_healthcheck_probes_healthz_on_the_service_port(compose, info):
    check_healthcheck_port(compose, info)


@by_service
def test_service_starts_after_localstack_is_healthy(compose, info):
    depends_on = service(compose, info.name)["depends_on"]
    assert depends_on["localstack"]["condition"] == "service_healthy"


@pytest.mark.parametrize(
    "info",
    [info for info in SERVICES.values() if any(info.name in c.calls for c in SERVICES.values())],
    ids=lambda info: info.name,
)
def test_callers_reach_each_service_by_its_compose_name_once_healthy(compose, info):
    check_caller_urls(compose, info)


def _set(path: list[str], value: Any) -> Callable[[Compose], None]:
    def mutate(document: Compose) -> None:
        target = document
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return mutate


def _drop(path: list[str]) -> Callable[[Compose], None]:
    def mutate(document: Compose) -> None:
        target = document
        for key in path[:-1]:
            target = target[key]
        del target[path[-1]]

    return mutate


Check = Callable[[Compose, ServiceInfo], None]
COMPOSE_MUTATIONS: dict[str, tuple[Callable[[Compose], None], Check, str]] = {
    "gateway published on another host port": (
        _set(["services", "gateway", "ports"], ["127.0.0.1:9000:8000"]),
        check_published_port_is_the_registry_port,
        "gateway",
    ),
    "rag built as chat": (
        _set(["services", "rag", "build", "args", "SERVICE"], "chat"),
        check_built_from_the_shared_dockerfile,
        "rag",
    ),
    "market-data built for rag's port": (
        _set(["services", "market-data", "build", "args", "PORT"], 8003),
        check_built_from_the_shared_dockerfile,
        "market-data",
    ),
    "chat built from another Dockerfile": (
        _set(["services", "chat", "build", "dockerfile"], "services/chat/Dockerfile"),
        check_built_from_the_shared_dockerfile,
        "chat",
    ),
    "notifier left on loopback": (
        _drop(["services", "notifier", "environment", "MARKETSCOPE_NOTIFIER_HOST"]),
        check_environment,
        "notifier",
    ),
    "an identity key written into compose": (
        _set(["services", "rag", "environment", INTERNAL_KEY], "a-published-key"),
        check_environment,
        "rag",
    ),
    "an identity key with a default": (
        _set(["services", "chat", "environment", INTERNAL_KEY], "${" + INTERNAL_KEY + ":-k}"),
        check_environment,
        "chat",
    ),
    "chat probed on market-data's port": (
        _set(
            ["services", "chat", "healthcheck", "test"],
            ["CMD", "curl", "-f", "http://127.0.0.1:8002/healthz"],
        ),
        check_healthcheck_port,
        "chat",
    ),
    "a variable chat does not have": (
        _set(["services", "chat", "environment", "MARKETSCOPE_CHAT_WORKERS"], "4"),
        check_marketscope_variables_are_settings,
        "chat",
    ),
    "gateway pointed at the wrong rag port": (
        _set(
            ["services", "gateway", "environment", "MARKETSCOPE_GATEWAY_RAG_URL"], "http://rag:8004"
        ),
        check_caller_urls,
        "rag",
    ),
    "chat pointed at the wrong market-data port": (
        _set(
            ["services", "chat", "environment", "MARKETSCOPE_CHAT_MARKET_DATA_URL"],
            "http://market-data:8003",
        ),
        check_caller_urls,
        "market-data",
    ),
}


@pytest.mark.parametrize("change", list(COMPOSE_MUTATIONS))
def test_changing_one_fact_in_compose_fails_its_check(compose, change):
    mutate, check, name = COMPOSE_MUTATIONS[change]
    check(compose, SERVICES[name])
    changed = copy.deepcopy(compose)
    mutate(changed)
    with pytest.raises(AssertionError):
        check(changed, SERVICES[name])


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


def test_rag_keeps_its_index_on_a_named_volume(compose):
    sources: dict[str, str] = {}
    for volume in service(compose, "rag").get("volumes", []):
        source, target, *_ = str(volume).split(":")
        sources[target] = source
    # /app/.marketscope: the image's state folder, where the index path defaults to.
    assert sources.get("/app/.marketscope") == "rag-state"
    assert "rag-state" in compose.get("volumes", {})


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


def docker_compose_config(internal_key: str | None) -> subprocess.CompletedProcess[str]:
    docker = shutil.which("docker")
    problem = _docker_engine_problem(docker)
    if problem is not None:
        pytest.skip(problem)
    assert docker is not None
    env = {key: value for key, value in os.environ.items() if key != INTERNAL_KEY}
    if internal_key is not None:
        env[INTERNAL_KEY] = internal_key
    return subprocess.run(
        [docker, "compose", "-f", str(COMPOSE_FILE), "config", "--quiet"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.docker
def test_docker_compose_accepts_the_file():
    result = docker_compose_config(secrets.token_urlsafe(48))
    assert result.returncode == 0, result.stderr


@pytest.mark.docker
def test_docker_compose_refuses_to_run_without_an_internal_key():
    result = docker_compose_config(None)
    assert result.returncode != 0
    assert INTERNAL_KEY in result.stderr


def test_the_gateway_image_holds_the_web_app_where_the_gateway_serves_it_from():
    from marketscope_gateway.web import WEB_ROOT

    # The image keeps the repository's layout under /app, so the same relative path holds.
    assert WEB_ROOT.relative_to(ROOT) == Path("web")
    assert "\nCOPY web web\n" in DOCKERFILE.read_text()
