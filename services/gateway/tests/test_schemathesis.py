"""Property-based testing of the gateway's whole OpenAPI document with schemathesis:
whatever the inputs, no answer is a server error. The gateway runs behind uvicorn (in a
thread of this process) on the emulator, with the fake services behind it."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator

import httpx
import pytest
import schemathesis
import uvicorn
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error

from marketscope_emulator.process import free_port
from marketscope_gateway.main import create_app
from marketscope_platform.aws import AwsSettings

from .conftest import PASSWORD, gateway_settings
from .fakes import FakeMarketData, FakeRag

pytestmark = pytest.mark.integration
EXAMPLES_PER_OPERATION = 25


@pytest.fixture(scope="module")
def gateway_url(provisioned: str, aws_settings: AwsSettings) -> Iterator[str]:
    transports: dict[str, httpx.AsyncBaseTransport] = {
        "market-data": httpx.ASGITransport(app=FakeMarketData().app()),
        "rag": httpx.ASGITransport(app=FakeRag().app()),
    }
    app = create_app(gateway_settings(), aws_settings, transports=transports)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "the gateway did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


@pytest.fixture(scope="module")
def auth_headers(gateway_url: str) -> dict[str, str]:
    credentials = {"email": f"fuzz-{uuid.uuid4().hex[:10]}@example.com", "password": PASSWORD}
    httpx.post(f"{gateway_url}/api/v1/auth/register", json=credentials, timeout=30)
    login = httpx.post(f"{gateway_url}/api/v1/auth/login", json=credentials, timeout=30)
    return {"Authorization": f"Bearer {login.json()['access_token']}"}


@pytest.fixture(scope="module")
def api_schema(gateway_url: str) -> schemathesis.BaseSchema:
    return schemathesis.openapi.from_url(f"{gateway_url}/openapi.json")


def test_no_input_makes_a_server_error(
    api_schema: schemathesis.BaseSchema, auth_headers: dict[str, str]
) -> None:
    # Each operation in turn with hypothesis directly: schemathesis' own pytest plugin
    # does not run under this pytest version.
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 20
    failures: list[str] = []
    statuses: list[int] = []
    runs = [(op, mode) for op in operations for mode in GenerationMode]  # valid and invalid
    for operation, mode in runs:

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def exercise(case: schemathesis.Case) -> None:
            response = case.call_and_validate(
                headers=auth_headers, checks=[not_a_server_error], timeout=30
            )
            statuses.append(response.status_code)

        try:
            exercise()
        except Unsatisfiable:
            continue  # no invalid input exists (an operation without parameters)
        except Exception as exc:  # collect every operation's failure, not just the first
            failures.append(f"{operation.label} ({mode.value}): {exc}")
    assert failures == []
    # It really exercised the API: many calls, both accepted and refused.
    assert len(statuses) >= 5 * len(runs)
    assert {200, 422} <= set(statuses)
