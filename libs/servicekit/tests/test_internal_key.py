"""A service starts with a published or short internal key only next to a loopback
emulator, and says why when it refuses."""

from __future__ import annotations

import logging

import pytest
from fastapi import FastAPI

from marketscope_platform.aws import AwsSettings
from marketscope_servicekit import create_service_app
from marketscope_servicekit.internal_key import (
    DEVELOPMENT_KEY,
    ENV_VARIABLE,
    MIN_KEY_BYTES,
    InsecureInternalKey,
    check_internal_key,
    generate_internal_key,
    is_loopback_emulator,
)
from marketscope_servicekit.testing import no_components, running, unreachable_aws

from .conftest import DemoSettings

SHORT_KEY = "s" * (MIN_KEY_BYTES - 1)
LOCALSTACK = AwsSettings(endpoint_url="http://localstack:4566")
REAL_AWS = AwsSettings(endpoint_url="")


def app_with_key(monkeypatch: pytest.MonkeyPatch, key: str, aws: AwsSettings) -> FastAPI:
    monkeypatch.setenv(ENV_VARIABLE, key)
    return create_service_app(
        "demo",
        DemoSettings(),
        build=no_components,
        readiness_checks=lambda _aws, _components: [],
        aws_settings=aws,
    )


@pytest.mark.parametrize(
    "endpoint",
    ["http://127.0.0.1:4566", "http://localhost:4566", "http://[::1]:4566", "http://127.0.0.2:9"],
)
def test_loopback_endpoints_are_emulators_on_this_machine(endpoint: str) -> None:
    assert is_loopback_emulator(AwsSettings(endpoint_url=endpoint))


@pytest.mark.parametrize(
    "endpoint",
    [
        "",
        "http://localstack:4566",
        "http://10.0.0.5:4566",
        "https://dynamodb.us-east-1.amazonaws.com",
    ],
)
def test_other_endpoints_are_not(endpoint: str) -> None:
    assert not is_loopback_emulator(AwsSettings(endpoint_url=endpoint))


@pytest.mark.parametrize(
    ("key", "aws", "reason"),
    [
        (DEVELOPMENT_KEY, LOCALSTACK, "is the published development key"),
        (DEVELOPMENT_KEY, REAL_AWS, "is the published development key"),
        (SHORT_KEY, LOCALSTACK, f"is shorter than {MIN_KEY_BYTES} bytes"),
    ],
    ids=["development-key-localstack", "development-key-aws", "short-key"],
)
async def test_a_weak_key_off_loopback_refuses_to_start_and_says_why(
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    key: str,
    aws: AwsSettings,
    reason: str,
) -> None:
    app = app_with_key(monkeypatch, key, aws)
    with caplog.at_level(logging.CRITICAL), pytest.raises(InsecureInternalKey) as refused:
        async with app.router.lifespan_context(app):
            pytest.fail("the service started")
    message = str(refused.value)
    assert f"{ENV_VARIABLE} {reason}" in message
    assert (aws.resolved_endpoint or "the AWS endpoints") in message
    assert "at least 32 bytes" in message
    assert key not in message.replace(ENV_VARIABLE, "")  # never the secret itself
    assert any("refusing to start" in record.getMessage() for record in caplog.records)


def test_a_strong_key_is_accepted_anywhere() -> None:
    for aws in (LOCALSTACK, REAL_AWS, unreachable_aws()):
        check_internal_key(generate_internal_key(), aws)


def test_generated_keys_are_long_and_never_repeat() -> None:
    keys = {generate_internal_key() for _ in range(100)}
    assert len(keys) == 100
    assert min(len(key.encode()) for key in keys) >= MIN_KEY_BYTES


async def test_the_development_key_still_starts_a_service_on_a_loopback_emulator(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    app = app_with_key(monkeypatch, DEVELOPMENT_KEY, unreachable_aws())
    async with running(app) as client:
        assert (await client.get("/healthz")).status_code == 200
