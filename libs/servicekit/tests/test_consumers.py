"""run_consumer against the emulator: it waits for its queue to exist, handles events with
idempotency, records EventLag, and stops cleanly."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from marketscope_events import CATALOG, DecodedEvent, ensure_table
from marketscope_events.catalog import QuoteUpdated
from marketscope_platform.aws import AwsClients
from marketscope_servicekit import BackgroundTasks, MetricsRecorder, run_consumer

pytestmark = pytest.mark.integration


def quote_event() -> str:
    data = QuoteUpdated(
        symbol="AAPL",
        price=Decimal("190.5"),
        currency="USD",
        previous_price=None,
        change=None,
        change_percent=None,
        as_of=datetime.now(UTC),
        provider="replay",
    )
    envelope = CATALOG.new_event(data, subject="Quote#AAPL")
    return envelope.to_json()


async def queue_drained(aws: AwsClients, url: str) -> None:
    """Returns once no message is left in the queue, visible or in flight."""
    sqs = await aws.client("sqs")
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    while True:
        attributes = (await sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names))[
            "Attributes"
        ]
        if all(attributes[name] == "0" for name in names):
            return
        await asyncio.sleep(0.2)


async def test_consumes_once_the_queue_exists_and_records_lag(aws: AwsClients) -> None:
    suffix = uuid.uuid4().hex[:8]
    queue_name, table = f"test-run-consumer-{suffix}", f"test-run-consumer-{suffix}"
    sqs, dynamodb = await aws.client("sqs"), await aws.client("dynamodb")
    await ensure_table(dynamodb, table)
    metrics = MetricsRecorder("demo")
    handled: list[str] = []
    got_one = asyncio.Event()

    async def on_quote(event: DecodedEvent[QuoteUpdated]) -> None:
        handled.append(event.envelope.id)
        got_one.set()

    tasks = BackgroundTasks(metrics, retry_initial_seconds=0.05, retry_max_seconds=0.1)
    tasks.start(
        "consumer",
        run_consumer(
            aws,
            service="demo",
            queue=queue_name,
            table_name=table,
            metrics=metrics,
            register=lambda consumer: consumer.on("QuoteUpdated", on_quote),
        ),
    )
    try:
        await asyncio.sleep(0.3)  # the queue does not exist yet: the job retries
        url = (await sqs.create_queue(QueueName=queue_name))["QueueUrl"]
        body = quote_event()
        await sqs.send_message(QueueUrl=url, MessageBody=body)
        await sqs.send_message(QueueUrl=url, MessageBody=body)  # a duplicate delivery
        await asyncio.wait_for(got_one.wait(), timeout=20)
        # the duplicate met the first one's claim and came back later to find it done
        await asyncio.wait_for(queue_drained(aws, url), timeout=20)
    finally:
        started = asyncio.get_running_loop().time()
        await tasks.stop()
        stopped_in = asyncio.get_running_loop().time() - started
    try:
        assert len(handled) == 1
        assert metrics.percentiles("EventLag", unit="Milliseconds")["p50"] >= 0
        assert stopped_in < 11
    finally:
        await sqs.delete_queue(QueueUrl=url)
        await dynamodb.delete_table(TableName=table)
