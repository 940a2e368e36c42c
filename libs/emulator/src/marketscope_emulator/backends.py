"""The AWS backends integration tests can run against."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum

from marketscope_emulator.process import EmulatorProcess, free_port

LOCALSTACK_IMAGE = "localstack/localstack:4.9"
LOCALSTACK_SERVICES = (
    "dynamodb",
    "sns",
    "sqs",
    "s3",
    "events",
    "logs",
    "cloudwatch",
    "secretsmanager",
    "sts",
)


class Backend(StrEnum):
    EMBEDDED = "embedded"  # moto's server on a free loopback port, started for the session
    EXTERNAL = "external"  # whatever AWS_ENDPOINT_URL points at (a running LocalStack)
    LOCALSTACK = "localstack"  # LocalStack started by testcontainers (needs Docker)


class BackendUnavailable(Exception):
    """The backend cannot run on this machine; the message says why."""


@contextmanager
def embedded_endpoint() -> Iterator[str]:
    with EmulatorProcess(port=free_port()) as emulator:
        yield emulator.endpoint


@contextmanager
def external_endpoint() -> Iterator[str]:
    endpoint = os.environ.get("AWS_ENDPOINT_URL")
    if not endpoint:
        raise BackendUnavailable("the external backend needs AWS_ENDPOINT_URL")
    yield endpoint


def docker_engine_problem() -> str | None:
    """None when a Docker engine answers, else why not."""
    try:
        import docker  # type: ignore[import-untyped]

        docker.from_env().ping()
    except Exception as exc:  # docker raises many kinds; each means "no engine here"
        return f"no Docker engine is reachable ({type(exc).__name__}: {exc})"
    return None


@contextmanager
def localstack_endpoint() -> Iterator[str]:
    problem = docker_engine_problem()
    if problem is not None:
        raise BackendUnavailable(f"LocalStack via testcontainers needs Docker: {problem}")
    from testcontainers.localstack import LocalStackContainer

    container = LocalStackContainer(image=LOCALSTACK_IMAGE).with_services(*LOCALSTACK_SERVICES)
    with container:
        yield container.get_url()


ENDPOINTS = {
    Backend.EMBEDDED: embedded_endpoint,
    Backend.EXTERNAL: external_endpoint,
    Backend.LOCALSTACK: localstack_endpoint,
}
