"""One way to run a service's queue consumer: `SqsConsumer` with the service's idempotency
table, the ``EventLag`` metric, and a clean stop, as a `BackgroundTasks` job."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from marketscope_events import (
    ConsumerSettings,
    DynamoDBIdempotencyStore,
    MessageReport,
    SqsConsumer,
)
from marketscope_events.consuming import IdempotencyStore
from marketscope_platform.aws import AwsClients
from marketscope_servicekit.lifecycle.background import BackgroundJob
from marketscope_servicekit.metrics import MetricsRecorder
from marketscope_servicekit.stopping import until_stopped

if TYPE_CHECKING:
    from types_aiobotocore_sqs import SQSClient

Register = Callable[[SqsConsumer], None]
QueueUrl = Callable[["SQSClient"], Awaitable[str]]


@dataclass(frozen=True)
class ConsumerOptions:
    """What may differ between the services' consumers."""

    wait_time_seconds: int = 10
    batch_size: int = 10
    concurrency: int = 30
    visibility_timeout: int = 30
    # How long a claim on an event outlives a worker that died handling it (the
    # heartbeat renews it while the handler runs); by default two thirds of the
    # visibility timeout, so a dead worker's messages come back to a lapsed claim.
    claim_seconds: int | None = None


def queue_url_of(name: str) -> QueueUrl:
    """Resolves a provisioned queue's URL (raises while AWS does not answer: retried)."""

    async def resolve(sqs: SQSClient) -> str:
        response = await sqs.get_queue_url(QueueName=name)
        return str(response["QueueUrl"])

    return resolve


def record_event_lag(metrics: MetricsRecorder) -> Callable[[MessageReport], None]:
    def report(message: MessageReport) -> None:
        if message.lag_ms is not None:
            metrics.record("EventLag", message.lag_ms, unit="Milliseconds")

    return report


def run_consumer(
    aws: AwsClients,
    *,
    service: str,
    queue: str | QueueUrl,
    table_name: str,
    metrics: MetricsRecorder,
    register: Register,
    options: ConsumerOptions | None = None,
    on_started: Callable[[SqsConsumer], None] | None = None,
    idempotency: IdempotencyStore | None = None,
) -> BackgroundJob:
    """The job that consumes ``queue`` (a provisioned queue's name, or a function giving
    the URL of one the service makes itself) with the handlers ``register`` adds,
    recording handled events in ``table_name`` (or in ``idempotency``, for a queue that
    lives only as long as the process) and their lag in ``EventLag``."""
    options = options or ConsumerOptions()
    resolve = queue_url_of(queue) if isinstance(queue, str) else queue

    async def job(stop: asyncio.Event) -> None:
        sqs = await aws.client("sqs")
        # AWS may be retrying for a while: stopping does not wait for it to answer.
        queue_url = await until_stopped(resolve(sqs), stop)
        if queue_url is None:
            return
        consumer = SqsConsumer(
            sqs,
            ConsumerSettings(
                service,
                queue_url,
                wait_time_seconds=options.wait_time_seconds,
                batch_size=options.batch_size,
                concurrency=options.concurrency,
                visibility_timeout=options.visibility_timeout,
                claim_for=None
                if options.claim_seconds is None
                else timedelta(seconds=options.claim_seconds),
            ),
            idempotency or DynamoDBIdempotencyStore(await aws.client("dynamodb"), table_name),
            on_report=record_event_lag(metrics),
        )
        register(consumer)
        if on_started is not None:
            on_started(consumer)
        running = asyncio.create_task(consumer.run())
        stopped = asyncio.create_task(stop.wait())
        await asyncio.wait({running, stopped}, return_when=asyncio.FIRST_COMPLETED)
        stopped.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await stopped
        # The poll in flight finishes (at most wait_time_seconds); what it brings after
        # stop() is released unhandled.
        consumer.stop()
        await running

    return job
