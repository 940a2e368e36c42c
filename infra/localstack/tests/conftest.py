"""Fixtures: the real MarketScope resources, provisioned once per session on the selected
AWS backend (the embedded emulator by default).

The backend is shared with the whole test session: nothing here resets it, other tests'
resources may exist beside ours, and checks look only at the names the spec declares.
"""

from __future__ import annotations

from typing import Any

import pytest

from marketscope_infra.appliers.context import substitute
from marketscope_infra.apply import Clients, StepResult, apply, load_spec

REGION = "us-east-1"


@pytest.fixture(scope="session")
def spec() -> dict[str, Any]:
    return load_spec()


@pytest.fixture(scope="session")
def clients(aws_endpoint: str) -> Clients:
    return Clients(aws_endpoint, REGION)


@pytest.fixture(scope="session")
def first_run(spec: dict[str, Any], clients: Clients) -> list[StepResult]:
    return apply(spec, clients)


@pytest.fixture(scope="session")
def resolved(spec: dict[str, Any], clients: Clients, first_run: list[StepResult]) -> list[Any]:
    """The spec's resources with this account's ARNs filled in, once provisioned."""
    return [substitute(resource, clients.placeholders()) for resource in spec["resources"]]


def of_kind(resources: list[Any], kind: str) -> list[Any]:
    return [resource for resource in resources if resource["kind"] == kind]
