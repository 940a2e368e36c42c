"""Running a consumer against a test queue until something has happened."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from marketscope_events import (
    ConsumerSettings,
    DynamoDBIdempotencyStore,
    Envelope,
    MessageReport,
    SqsConsumer,
)
from marketscope_events.subscriptions import QueueRef


async def send(
    sqs: Any, queue: QueueRef, body: str, attributes: dict[str, Any] | None = None
) -> None:
    await sqs.send_message(QueueUrl=queue.url, MessageBody=body, MessageAttributes=attributes or {})


async def send_events(sqs: Any, queue: QueueRef, events: list[Envelope]) -> None:
    """``events`` as raw SQS messages, ten a SendMessageBatch."""
    for start in range(0, len(events), 10):
        await sqs.send_message_batch(
            QueueUrl=queue.url,
            Entries=[
                {"Id": str(n), "MessageBody": e.to_json()}
                for n, e in enumerate(events[start : start + 10])
            ],
        )


def make_consumer(
    aws_sqs: Any,
    dynamodb: Any,
    table: str,
    queue: QueueRef,
    reports: list[MessageReport],
    **settings: Any,
) -> SqsConsumer:
    config = ConsumerSettings(
        name="test-consumer",
        queue_url=queue.url,
        **{"wait_time_seconds": 1, "retry_base_seconds": 0, **settings},
    )
    return SqsConsumer(
        aws_sqs, config, DynamoDBIdempotencyStore(dynamodb, table), on_report=reports.append
    )


async def run_until(consumer: SqsConsumer, condition: Any, limit_seconds: float = 30) -> None:
    task = asyncio.create_task(consumer.run())
    deadline = time.monotonic() + limit_seconds
    try:
        while not condition():
            assert time.monotonic() < deadline, "condition not reached in time"
            assert not task.done(), "the consumer stopped by itself"
            await asyncio.sleep(0.05)
    finally:
        consumer.stop()
        await asyncio.wait_for(task, timeout=10)


async def collect_dlq(sqs: Any, dlq: QueueRef, dead: list[dict[str, Any]], wanted: int) -> None:
    """Receive from the DLQ into ``dead`` until it holds ``wanted`` messages."""
    while len(dead) < wanted:
        response = await sqs.receive_message(
            QueueUrl=dlq.url, MaxNumberOfMessages=10, WaitTimeSeconds=1
        )
        dead.extend(response.get("Messages", []))
