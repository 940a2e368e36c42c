"""The LocalStack backend, started by testcontainers. Where no Docker engine answers, the
test is skipped with the engine's own error as the reason: never faked."""

from __future__ import annotations

import boto3
import pytest

from marketscope_emulator.backends import (
    BackendUnavailable,
    docker_engine_problem,
    localstack_endpoint,
)

pytestmark = [pytest.mark.integration, pytest.mark.docker]


def test_localstack_started_by_testcontainers_speaks_sqs() -> None:
    try:
        with localstack_endpoint() as endpoint:
            sqs = boto3.client(
                "sqs",
                endpoint_url=endpoint,
                region_name="us-east-1",
                aws_access_key_id="test",
                aws_secret_access_key="test",
            )
            url = sqs.create_queue(QueueName="marketscope-backend-check")["QueueUrl"]
            sqs.send_message(QueueUrl=url, MessageBody="hello")
            [message] = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=5)["Messages"]
            assert message["Body"] == "hello"
    except BackendUnavailable as exc:
        pytest.skip(str(exc))


def test_missing_engine_is_reported_not_hidden() -> None:
    problem = docker_engine_problem()
    if problem is None:
        pytest.skip("a Docker engine is available here")
    with pytest.raises(BackendUnavailable, match="needs Docker"), localstack_endpoint():
        pass
