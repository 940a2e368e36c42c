"""pytest plugin: ``--aws-backend`` (or MARKETSCOPE_TEST_AWS_BACKEND) picks where the
integration tests' AWS calls go; the default starts the embedded emulator once per
session. A backend that cannot run here is skipped with its reason, never faked."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator

import pytest

from marketscope_emulator.backends import ENDPOINTS, Backend, BackendUnavailable
from marketscope_platform.aws import AwsClients, AwsSettings

BACKEND_ENV = "MARKETSCOPE_TEST_AWS_BACKEND"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--aws-backend",
        choices=[backend.value for backend in Backend],
        default=os.environ.get(BACKEND_ENV, Backend.EMBEDDED.value),
        help="AWS backend for integration tests (default: embedded emulator)",
    )


@pytest.fixture(scope="session")
def aws_backend(request: pytest.FixtureRequest) -> Backend:
    return Backend(request.config.getoption("--aws-backend"))


@pytest.fixture(scope="session")
def aws_endpoint(aws_backend: Backend) -> Iterator[str]:
    """The endpoint URL every integration test talks to over HTTP."""
    try:
        with ENDPOINTS[aws_backend]() as endpoint:
            yield endpoint
    except BackendUnavailable as exc:
        pytest.skip(str(exc))


@pytest.fixture(scope="session")
def aws_settings(aws_endpoint: str) -> AwsSettings:
    return AwsSettings(endpoint_url=aws_endpoint, default_region="us-east-1")


@pytest.fixture
async def aws(aws_settings: AwsSettings) -> AsyncIterator[AwsClients]:
    """aiobotocore clients against the selected backend, closed after the test."""
    clients = AwsClients(aws_settings)
    try:
        yield clients
    finally:
        await clients.close()


@pytest.fixture(scope="session")
def provisioned(aws_endpoint: str) -> str:
    """Every resource of the provisioning spec (tables, topics, queues with their DLQs,
    the bucket, the secret, the rule), made once per session by the same applier that
    provisions the embedded stack and LocalStack."""
    from marketscope_infra.appliers.context import Clients
    from marketscope_infra.apply import apply, load_spec

    apply(load_spec(), Clients(aws_endpoint, "us-east-1"))
    return aws_endpoint
