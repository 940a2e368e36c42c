"""A running pipeline: the producer, three subscribed queues and their consumers."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any

from params import SERVICE_DEFAULTS, SERVICES, Params
from producer import Producer, segment_count
from tracker import DeliveryTracker
from wiring import FAN_OUT_CATALOG, Aws, Resources, cancel_all, unique

from marketscope_events import ConsumerSettings, DynamoDBIdempotencyStore, SqsConsumer
from marketscope_events.catalog import DecodedEvent
from marketscope_events.subscriptions import subscribe_service


@dataclass
class Pipeline:
    producer: Producer
    consumers: list[SqsConsumer]
    tracker: DeliveryTracker


async def handle_quote(event: DecodedEvent[Any]) -> None:
    """The consumers' handler does nothing: the benchmark measures the backbone."""


async def make_consumer(
    aws: Aws, resources: Resources, params: Params, service: str, tracker: DeliveryTracker
) -> SqsConsumer:
    """A service's queue subscribed to its catalog topics, and its consumer recording
    idempotency in the service's own table (as in MarketScope: one table per service)."""
    name = unique(f"bench-{service}")
    subscription = await subscribe_service(
        aws.sns,
        aws.sqs,
        aws.topics,
        service,
        queue_name=name,
        dlq_name=f"{name}-dlq",
        catalog=FAN_OUT_CATALOG,
    )
    resources.subscriptions.append(subscription)
    idempotency = DynamoDBIdempotencyStore(aws.dynamodb, await resources.table(aws, name))
    settings = ConsumerSettings(
        name=service,
        queue_url=subscription.queue.url,
        batch_size=params.consumer_batch_size,
        wait_time_seconds=params.wait_time_seconds,
        concurrency=params.consumer_concurrency,
        visibility_timeout=SERVICE_DEFAULTS.visibility_timeout,
    )
    consumer = SqsConsumer(aws.sqs, settings, idempotency, on_report=tracker.report)
    consumer.on("QuoteUpdated", handle_quote)
    return consumer


@contextlib.asynccontextmanager
async def running(aws: Aws, params: Params, events: int) -> AsyncIterator[Pipeline]:
    """A fresh pipeline with its relay and consumers running; removed afterwards."""
    resources = Resources()
    tracker = DeliveryTracker(len(SERVICES))
    try:
        consumers = [
            await make_consumer(aws, resources, params, service, tracker) for service in SERVICES
        ]
        tables = [
            await resources.table(aws, unique("bench-market-data"))
            for _ in range(segment_count(events, params))
        ]
        producer = Producer(aws, tables, params)
        producer.start()
        tasks = [asyncio.create_task(consumer.run()) for consumer in consumers]
        try:
            yield Pipeline(producer, consumers, tracker)
        finally:
            await stop_pipeline(producer, consumers, tasks)
    finally:
        await resources.remove(aws)


async def stop_pipeline(
    producer: Producer, consumers: Sequence[SqsConsumer], tasks: Sequence[asyncio.Task[None]]
) -> None:
    await producer.close()
    for consumer in consumers:
        consumer.stop()  # returns once the long poll in flight ends
    timeout = max(consumer.settings.wait_time_seconds for consumer in consumers) + 5
    _, pending = await asyncio.wait(tasks, timeout=timeout)
    await cancel_all(list(pending))
