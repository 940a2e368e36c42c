"""The evaluation phase's rounds, once seeding.py has set the alerts: one QuoteUpdated per
symbol, evaluated either by calling `AlertEvaluator.on_quote` directly
("evaluator") or end to end through the queue ("queue": each quote published to the
QuoteUpdated topic as market-data's relay publishes it, delivered by SNS to a queue
subscribed as the notifier's is, and handled by `SqsConsumer` with idempotency records,
its handler calling the symbol's evaluator as `NotifierHandlers.on_quote` does).

In the queue rounds the notifier's work is done in the benchmark's process, routed to the
symbol's table (see shards.py), with the consumer settings the service runs with (but a
2 s long poll, which keeps the stop short; a poll wakes as a message arrives); the
NotificationCreated of a fire stays in the outbox (no relay runs here: the latency phase
measures that part).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from figures import Log, Progress, rate, summary
from shards import Shards

from marketscope_events import (
    CATALOG,
    ConsumerSettings,
    DecodedEvent,
    DynamoDBIdempotencyStore,
    Envelope,
    MessageReport,
    SnsPublisher,
    SqsConsumer,
    TopicDirectory,
)
from marketscope_events.catalog import QuoteUpdated
from marketscope_events.consuming.reports import Outcome
from marketscope_events.store import ensure_table
from marketscope_events.subscriptions import ensure_topic, remove_subscription, subscribe_service
from marketscope_platform.aws import AwsClients
from marketscope_servicekit import MetricsRecorder
from marketscope_servicekit.lifecycle.consumers import ConsumerOptions

if TYPE_CHECKING:
    from types_aiobotocore_dynamodb import DynamoDBClient

SERVICE = "notifier"
PROVIDER = "bench"
QUEUE_WAIT_SECONDS = 2  # a long poll wakes on arrival; a short one keeps the stop short
HANDLED_SECONDS = 120.0


def counted(metrics: MetricsRecorder, name: str) -> int:
    """What ``metrics.increment(name, ...)`` added up to so far (service-wide series)."""
    total = 0.0
    for datum in metrics.pending():
        if datum["MetricName"] == name and len(datum["Dimensions"]) == 1:
            total += sum(v * c for v, c in zip(datum["Values"], datum["Counts"], strict=True))
    return int(total)


@dataclass
class Tally:
    """The evaluator's metrics over one round."""

    metrics: MetricsRecorder
    start: dict[str, int] = field(default_factory=dict)

    NAMES = ("AlertsEvaluated", "AlertsTriggered", "StaleQuotes")

    def __post_init__(self) -> None:
        self.start = {name: counted(self.metrics, name) for name in self.NAMES}

    def since(self) -> dict[str, int]:
        return {name: counted(self.metrics, name) - self.start[name] for name in self.NAMES}


async def evaluator_round(
    shards: Shards,
    metrics: MetricsRecorder,
    name: str,
    prices: dict[str, float],
    as_of: datetime,
    concurrency: int,
    log: Log,
) -> dict[str, Any]:
    """One `AlertEvaluator.on_quote` per symbol, ``concurrency`` at a time."""
    progress = Progress(log, f"{name}: quotes evaluated", len(prices))
    gate = asyncio.Semaphore(concurrency)
    durations: list[float] = []
    changed = 0

    async def one(symbol: str, price: float) -> None:
        nonlocal changed
        async with gate:
            started = time.perf_counter()
            outcome = await shards.of(symbol).evaluator.on_quote(symbol, price, as_of)
            durations.append((time.perf_counter() - started) * 1000)
        changed += outcome.changed
        progress.advance()

    tally = Tally(metrics)
    started = time.perf_counter()
    await asyncio.gather(*(one(symbol, price) for symbol, price in prices.items()))
    seconds = time.perf_counter() - started
    counts = tally.since()
    return {
        "round": name,
        "path": "evaluator",
        "quotes": len(prices),
        "concurrency": concurrency,
        "seconds": round(seconds, 2),
        "quotes_per_second": rate(len(prices), seconds),
        "alerts_evaluated": counts["AlertsEvaluated"],
        "alerts_evaluated_per_second": rate(counts["AlertsEvaluated"], seconds),
        "alerts_fired": counts["AlertsTriggered"],
        "alerts_changed": changed,
        "stale_quotes": counts["StaleQuotes"],
        "on_quote": summary(durations),
    }


def quote_event(symbol: str, price: float, as_of: datetime, sequence: int) -> Envelope:
    """QuoteUpdated as market-data's store makes it and its relay publishes it (the
    stored envelope carries its stream version as ``sequence``)."""
    data = QuoteUpdated(
        symbol=symbol,
        price=Decimal(repr(price)),
        previous_price=None,
        change=None,
        change_percent=None,
        as_of=as_of,
        provider=PROVIDER,
    )
    return CATALOG.new_event(data, subject=f"Quote#{symbol}").with_sequence(sequence)


class HandledQuotes:
    """The consumer's reports, by event id, and a wait for each quote's."""

    def __init__(self) -> None:
        self.lag_ms: list[float] = []
        self.outcomes: dict[str, int] = {}
        self._waiting: dict[str, asyncio.Future[None]] = {}

    def expect(self, event_ids: Iterable[str]) -> list[asyncio.Future[None]]:
        loop = asyncio.get_running_loop()
        futures = []
        for event_id in event_ids:
            self._waiting[event_id] = future = loop.create_future()
            futures.append(future)
        return futures

    def report(self, report: MessageReport) -> None:
        self.outcomes[report.outcome] = self.outcomes.get(report.outcome, 0) + 1
        if report.outcome is not Outcome.HANDLED or report.event_id is None:
            return
        if report.lag_ms is not None:
            self.lag_ms.append(report.lag_ms)
        future = self._waiting.pop(report.event_id, None)
        if future is not None and not future.done():
            future.set_result(None)


@dataclass
class QueuePath:
    publisher: SnsPublisher
    handled: HandledQuotes
    consumer: SqsConsumer
    sequences: dict[str, int] = field(default_factory=dict)


async def catalog_topics(aws: AwsClients) -> TopicDirectory:
    """Every catalog topic (CreateTopic is idempotent; provisioning makes the same)."""
    sns = await aws.client("sns")
    for spec in CATALOG:
        if spec.topic is not None:
            await ensure_topic(sns, spec.topic)
    return await TopicDirectory.from_sts(await aws.client("sts"), aws.settings.default_region)


@contextlib.asynccontextmanager
async def queue_path(
    aws: AwsClients, topics: TopicDirectory, shards: Shards
) -> AsyncIterator[QueuePath]:
    """A queue subscribed to the notifier's topics (`subscribe_service`), its consumer
    running with the notifier's handler, routed to the symbol's table; all removed
    afterwards."""
    sns, sqs = await aws.client("sns"), await aws.client("sqs")
    dynamodb: DynamoDBClient = await aws.client("dynamodb")
    name = f"bench-notifier-{uuid.uuid4().hex[:6]}"
    subscription = await subscribe_service(
        sns, sqs, topics, SERVICE, queue_name=name, dlq_name=f"{name}-dlq"
    )
    await ensure_table(dynamodb, name)  # the idempotency records, as in the service's table
    options = ConsumerOptions()
    settings = ConsumerSettings(
        SERVICE,
        subscription.queue.url,
        wait_time_seconds=QUEUE_WAIT_SECONDS,
        batch_size=options.batch_size,
        concurrency=options.concurrency,
        visibility_timeout=options.visibility_timeout,
    )
    handled = HandledQuotes()
    consumer = SqsConsumer(
        sqs, settings, DynamoDBIdempotencyStore(dynamodb, name), on_report=handled.report
    )

    async def on_quote(event: DecodedEvent[Any]) -> None:  # NotifierHandlers.on_quote's call
        quote = event.data
        await shards.of(quote.symbol).evaluator.on_quote(
            quote.symbol, float(quote.price), quote.as_of
        )

    consumer.on("QuoteUpdated", on_quote)
    running = asyncio.create_task(consumer.run())
    try:
        yield QueuePath(SnsPublisher(sns, topics), handled, consumer)
    finally:
        consumer.stop()
        await running
        await remove_subscription(sns, sqs, subscription, delete_dlq=True)
        await dynamodb.delete_table(TableName=name)


async def queue_round(
    path: QueuePath,
    metrics: MetricsRecorder,
    name: str,
    prices: dict[str, float],
    as_of: datetime,
    window: int,
    log: Log,
) -> dict[str, Any]:
    """Each symbol's quote published (batches of up to 10, as the relay publishes) with
    at most ``window`` published and not yet handled; timed from the first publish to
    the last quote handled."""
    progress = Progress(log, f"{name}: quotes handled", len(prices))
    room = asyncio.Semaphore(window)
    pending: list[asyncio.Future[None]] = []
    items = list(prices.items())
    tally = Tally(metrics)
    path.handled.lag_ms.clear()
    path.handled.outcomes.clear()

    def done(_: asyncio.Future[None]) -> None:
        room.release()
        progress.advance()

    started = time.perf_counter()
    for start in range(0, len(items), 10):
        chunk = items[start : start + 10]
        for _ in chunk:
            await room.acquire()
        envelopes = []
        for symbol, price in chunk:
            path.sequences[symbol] = path.sequences.get(symbol, 0) + 1
            envelopes.append(quote_event(symbol, price, as_of, path.sequences[symbol]))
        futures = path.handled.expect(envelope.id for envelope in envelopes)
        for future in futures:
            future.add_done_callback(done)
        pending += futures
        await path.publisher.publish_batch(envelopes)
    await asyncio.wait_for(asyncio.gather(*pending), HANDLED_SECONDS)
    seconds = time.perf_counter() - started
    counts = tally.since()
    return {
        "round": name,
        "path": "queue",
        "quotes": len(prices),
        "window": window,
        "consumer": {
            "batch_size": path.consumer.settings.batch_size,
            "concurrency": path.consumer.settings.concurrency,
        },
        "seconds": round(seconds, 2),
        "quotes_per_second": rate(len(prices), seconds),
        "alerts_evaluated": counts["AlertsEvaluated"],
        "alerts_evaluated_per_second": rate(counts["AlertsEvaluated"], seconds),
        "alerts_fired": counts["AlertsTriggered"],
        "stale_quotes": counts["StaleQuotes"],
        "publish_to_handled": summary(path.handled.lag_ms),
        "consumer_outcomes": dict(path.handled.outcomes),
    }
