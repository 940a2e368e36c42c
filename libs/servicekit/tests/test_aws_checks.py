"""The ready-made readiness checks against a real AWS API (the embedded emulator unless
``--aws-backend`` says otherwise): present resources pass, missing ones fail by name."""

from __future__ import annotations

import uuid

import pytest

from marketscope_platform.aws import AwsClients
from marketscope_servicekit import bucket_check, queue_check, table_check
from marketscope_servicekit.health import run_checks

pytestmark = pytest.mark.integration


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


async def test_existing_resources_are_ready(aws: AwsClients):
    table, queue, bucket = unique("ready-table"), unique("ready-queue"), unique("ready-bucket")
    dynamodb, sqs, s3 = [await aws.client(name) for name in ("dynamodb", "sqs", "s3")]
    await dynamodb.create_table(
        TableName=table,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
    )
    queue_url = (await sqs.create_queue(QueueName=queue))["QueueUrl"]
    await s3.create_bucket(Bucket=bucket)
    try:
        checks = [
            table_check(aws, table),
            queue_check(aws, queue),
            bucket_check(aws, bucket, "svc/"),
        ]
        results = await run_checks(checks, check_timeout=10)
        assert [(r.name, r.ok, r.error) for r in results] == [
            ("table", True, None),
            ("queue", True, None),
            ("bucket", True, None),
        ]
    finally:
        await dynamodb.delete_table(TableName=table)
        await sqs.delete_queue(QueueUrl=queue_url)
        await s3.delete_bucket(Bucket=bucket)


async def test_missing_resources_fail_with_the_aws_error_code(aws: AwsClients):
    checks = [
        table_check(aws, unique("missing-table")),
        queue_check(aws, unique("missing-queue")),
        bucket_check(aws, unique("missing-bucket"), "svc/"),
    ]
    results = await run_checks(checks, check_timeout=10)
    assert [r.ok for r in results] == [False, False, False]
    errors = {r.name: r.error for r in results}
    assert errors["table"] == "ResourceNotFoundException"
    assert errors["queue"] in {"AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist"}
    assert errors["bucket"] in {"404", "NoSuchBucket"}
