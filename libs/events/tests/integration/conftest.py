"""Fixtures of the consumer tests: a queue with a DLQ, made fresh for each test."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from marketscope_events.subscriptions import QueueRef, ensure_queue
from marketscope_platform import AwsClients

from ..helpers import unique


@pytest.fixture
async def queue(aws: AwsClients) -> AsyncIterator[tuple[QueueRef, QueueRef]]:
    """A queue with a DLQ after 3 receives; deleted afterwards."""
    sqs = await aws.client("sqs")
    name = unique("test-consumer")
    dlq = await ensure_queue(sqs, f"{name}-dlq")
    source = await ensure_queue(sqs, name, dlq=dlq, visibility_timeout=30)
    yield source, dlq
    for ref in (source, dlq):
        await sqs.delete_queue(QueueUrl=ref.url)
