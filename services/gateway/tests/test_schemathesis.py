"""Property-based testing of the gateway's whole OpenAPI document with schemathesis:
whatever the inputs, valid or not, no answer is a server error and every answer is what
the document says (status code, content type, schema, headers). The gateway runs behind
uvicorn (in a thread of this process) on the emulator, with the fake services behind it."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pytest

from marketscope_gateway.main import create_app
from marketscope_platform.aws import AwsSettings
from marketscope_servicekit.conformance import exercise_api
from marketscope_servicekit.testing import served_in_thread

from .conftest import PASSWORD, gateway_settings
from .fakes import FakeChat, FakeMarketData, FakeNotifier, FakeRag

pytestmark = pytest.mark.integration
EXAMPLES_PER_OPERATION = 15


@pytest.fixture(scope="module")
def gateway_url(provisioned: str, aws_settings: AwsSettings) -> Iterator[str]:
    transports: dict[str, httpx.AsyncBaseTransport] = {
        "market-data": httpx.ASGITransport(app=FakeMarketData().app()),
        "rag": httpx.ASGITransport(app=FakeRag().app()),
        "chat": httpx.ASGITransport(app=FakeChat().app()),
        "notifier": httpx.ASGITransport(app=FakeNotifier().app()),
    }
    with served_in_thread(
        create_app(gateway_settings(), aws_settings, transports=transports)
    ) as url:
        yield url


@pytest.fixture(scope="module")
def auth_headers(gateway_url: str) -> dict[str, str]:
    credentials = {"email": f"fuzz-{uuid.uuid4().hex[:10]}@example.com", "password": PASSWORD}
    httpx.post(f"{gateway_url}/api/v1/auth/register", json=credentials, timeout=30)
    login = httpx.post(f"{gateway_url}/api/v1/auth/login", json=credentials, timeout=30)
    return {"Authorization": f"Bearer {login.json()['access_token']}"}


def test_every_answer_conforms_to_the_document(
    gateway_url: str, auth_headers: dict[str, str]
) -> None:
    exercise = exercise_api(
        gateway_url, examples_per_operation=EXAMPLES_PER_OPERATION, headers=auth_headers
    )
    print(f"gateway: {exercise.operations} operations, {exercise.calls} calls, {exercise.statuses}")
    assert not exercise.failures, "\n".join(sorted(exercise.failures))
    # It really exercised the API: many calls, both accepted and refused.
    assert exercise.operations >= 20
    assert exercise.calls >= 5 * 2 * exercise.operations
    assert {200, 422} <= set(exercise.statuses)
