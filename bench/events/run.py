"""Benchmark of the event backbone (libs/events) against the AWS emulator, over real HTTP.

One run, three phases, each on freshly made queues and tables:

1. ceiling   what the emulator itself can move: raw SQS send_message_batch ->
             receive_message -> delete_message_batch on one queue (batches of 10) by a few
             concurrent asyncio workers; the best worker count is "the ceiling", in msg/s.
2. pipeline  DynamoDBEventStore.append (outbox marker) -> OutboxRelay -> SNS publish_batch
             -> 3 subscribed queues (gateway, notifier, chat) -> 3 SqsConsumers with DynamoDB
             idempotency, handling QuoteUpdated, with a bounded number of events in flight.
             Each event is 3 SQS deliveries; deliveries/s is what the ceiling is compared to.
3. low load  one event at a time, each appended and awaited on all three consumers.

Usage: uv run python bench/events/run.py [--events N] [--quick] [--endpoint URL]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import platform
import sys
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from marketscope_emulator.process import EmulatorProcess, free_port
from marketscope_events import (
    CATALOG,
    AwsClients,
    AwsSettings,
    ConsumerSettings,
    DynamoDBEventStore,
    DynamoDBIdempotencyStore,
    Envelope,
    MessageReport,
    OutboxRelay,
    Outcome,
    SqsConsumer,
)
from marketscope_events.catalog import DecodedEvent, QuoteUpdated
from marketscope_events.publishing import SnsPublisher, TopicDirectory, message_attributes
from marketscope_events.store import ensure_table
from marketscope_events.subscriptions import (
    ServiceSubscription,
    ensure_queue,
    ensure_topic,
    remove_subscription,
    subscribe_service,
)

RESULTS_FILE = Path(__file__).resolve().parents[1] / "results" / "events.json"
SERVICES = ("gateway", "notifier", "chat")
SQS_BATCH = 10
TARGET_RATIO = 0.6
TARGET_LOW_LOAD_P50_MS = 30.0
PROGRESS_EVERY_S = 5.0
STALL_S = 10.0  # no event fully delivered for this long: one was lost, stop waiting
LOW_LOAD_TIMEOUT_S = 5.0


# ------------------------------------------------------------------------------ parameters


@dataclass(frozen=True)
class Params:
    events: int  # pipeline phase
    latency_events: int  # low-load phase, after `latency_warmup` unmeasured ones
    latency_warmup: int
    ceiling_messages: int  # per ceiling worker count
    ceiling_workers: tuple[int, ...]
    producers: int  # concurrent appenders
    window: int  # most events appended but not yet handled by all three consumers
    segment_events: int  # appends per event-store table (0: one table)
    relay_batch_size: int
    consumer_batch_size: int
    consumer_concurrency: int
    wait_time_seconds: int
    phase_timeout_s: float
    quick: bool


def parse_args(argv: Sequence[str] | None = None) -> tuple[Params, str | None, Path]:
    parser = argparse.ArgumentParser(
        description="Benchmark of libs/events against the AWS emulator (see bench/README.md)"
    )
    parser.add_argument("--events", type=int, help="events in the pipeline phase")
    parser.add_argument("--quick", action="store_true", help="a smaller run (< 40 s)")
    parser.add_argument("--endpoint", help="an AWS endpoint to use instead of own emulator")
    parser.add_argument("--window", type=int, default=10, help="events in flight at most")
    parser.add_argument("--producers", type=int, default=3, help="concurrent appenders")
    parser.add_argument(
        "--segment-events",
        type=int,
        default=50,
        help="swap the event store's table for a fresh one every N appends (0: never); "
        "moto deep-copies the whole table on every TransactWriteItems",
    )
    parser.add_argument("--relay-batch-size", type=int, default=30)
    parser.add_argument("--consumer-concurrency", type=int, default=30)
    parser.add_argument(
        "--wait-time-seconds",
        type=int,
        default=2,
        help="the consumers' long poll (it wakes on arrival; stop() lets it finish)",
    )
    parser.add_argument("--output", type=Path, default=RESULTS_FILE)
    args = parser.parse_args(argv)
    quick = bool(args.quick)
    params = Params(
        events=args.events or (200 if quick else 2000),
        latency_events=20 if quick else 50,
        latency_warmup=3,
        ceiling_messages=1000 if quick else 3000,
        ceiling_workers=(1, 2) if quick else (1, 2, 4),
        producers=args.producers,
        window=args.window,
        segment_events=args.segment_events,
        relay_batch_size=args.relay_batch_size,
        consumer_batch_size=SQS_BATCH,
        consumer_concurrency=args.consumer_concurrency,
        wait_time_seconds=args.wait_time_seconds,
        phase_timeout_s=60.0 if quick else 150.0,
        quick=quick,
    )
    return params, args.endpoint, args.output


# ------------------------------------------------------------------------------ measuring


def percentile(values: Sequence[float], q: float) -> float | None:
    """Linear interpolation between closest ranks; None without values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def latency_summary(values: Sequence[float]) -> dict[str, float | int | None]:
    return {
        "count": len(values),
        "p50_ms": percentile(values, 50),
        "p95_ms": percentile(values, 95),
        "p99_ms": percentile(values, 99),
        "max_ms": max(values) if values else None,
    }


def process_cpu_seconds(pid: int) -> float | None:
    """User + system CPU of ``pid`` and its descendants (Linux /proc; None elsewhere)."""
    try:
        ticks = os.sysconf("SC_CLK_TCK")
        total, pending = 0.0, [pid]
        while pending:
            current = pending.pop()
            stat = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(stat[11]) + int(stat[12])) / ticks
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
            pending.extend(int(child) for child in children)
        return total
    except (OSError, ValueError, IndexError):
        return None


class RequestCounter:
    """Counts the HTTP requests the clients send, by ``service.Operation``."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()

    def attach(self, client: Any) -> None:
        client.meta.events.register("before-send", self._count)

    def _count(self, event_name: str = "", **_: Any) -> None:
        self.counts[event_name.removeprefix("before-send.")] += 1


@dataclass
class Usage:
    """A phase's wall time, CPU of this process and of the emulator, requests sent."""

    wall_s: float
    client_cpu_s: float
    emulator_cpu_s: float | None
    requests: dict[str, int]

    @property
    def total_requests(self) -> int:
        return sum(self.requests.values())

    def per(self, units: int) -> dict[str, float | None]:
        """Requests and CPU milliseconds per message (ceiling) or delivery (pipeline)."""
        if units <= 0:
            return {"requests": None, "client_cpu_ms": None, "emulator_cpu_ms": None}
        emulator = self.emulator_cpu_s
        return {
            "requests": self.total_requests / units,
            "client_cpu_ms": self.client_cpu_s * 1000 / units,
            "emulator_cpu_ms": None if emulator is None else emulator * 1000 / units,
        }

    def as_dict(self) -> dict[str, Any]:
        busy = None if self.emulator_cpu_s is None else self.emulator_cpu_s / self.wall_s
        return {
            **asdict(self),
            "total_requests": self.total_requests,
            "emulator_busy": busy,  # emulator CPU seconds per wall second
        }


class UsageMeter:
    def __init__(self, counter: RequestCounter, emulator_pid: int | None) -> None:
        self._counter = counter
        self._pid = emulator_pid

    @contextlib.contextmanager
    def measure(self) -> Iterator[list[Usage]]:
        """Yields a list that holds the block's `Usage` once the block is left."""
        holder: list[Usage] = []
        requests = Counter(self._counter.counts)
        wall, cpu, emulator = time.perf_counter(), time.process_time(), self._emulator_cpu()
        try:
            yield holder
        finally:
            emulator_end = self._emulator_cpu()
            emulator_cpu = None
            if emulator is not None and emulator_end is not None:
                emulator_cpu = emulator_end - emulator
            holder.append(
                Usage(
                    wall_s=time.perf_counter() - wall,
                    client_cpu_s=time.process_time() - cpu,
                    emulator_cpu_s=emulator_cpu,
                    requests=dict(self._counter.counts - requests),
                )
            )

    def _emulator_cpu(self) -> float | None:
        return None if self._pid is None else process_cpu_seconds(self._pid)


def progress(message: str) -> None:
    print(f"      {message}", flush=True)


# ------------------------------------------------------------------------------ AWS wiring


@dataclass
class Aws:
    sqs: Any
    sns: Any
    dynamodb: Any
    topics: TopicDirectory
    requests: RequestCounter


async def connect(clients: AwsClients) -> Aws:
    counter = RequestCounter()
    sqs, sns, dynamodb = [await clients.client(name) for name in ("sqs", "sns", "dynamodb")]
    for client in (sqs, sns, dynamodb):
        counter.attach(client)
    for spec in CATALOG:
        await ensure_topic(sns, spec.topic)
    region = clients.settings.default_region
    topics = await TopicDirectory.from_sts(await clients.client("sts"), region)
    return Aws(sqs=sqs, sns=sns, dynamodb=dynamodb, topics=topics, requests=counter)


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def quote_event(symbol: str, tick: int) -> Envelope:
    price = Decimal("100.00") + Decimal(tick % 1000) / 100
    return CATALOG.new_event(
        QuoteUpdated(
            symbol=symbol,
            price=price,
            previous_price=Decimal("100.00"),
            change=price - Decimal("100.00"),
            change_percent=None,
            as_of=datetime.now(UTC),
            provider="bench",
        ),
        subject=f"Quote#{symbol}",
    )


async def cancel_all(tasks: Sequence[asyncio.Task[Any]]) -> None:
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


# ------------------------------------------------------------------------------ 1. ceiling


@dataclass(frozen=True)
class CeilingRun:
    workers: int
    sent: int
    deleted: int
    seconds: float
    usage: Usage

    @property
    def messages_per_s(self) -> float:
        # A message moto handed out twice is deleted twice: count each sent one once.
        return min(self.deleted, self.sent) / self.seconds

    def as_dict(self) -> dict[str, Any]:
        return {
            "workers": self.workers,
            "messages_sent": self.sent,
            "messages_deleted": self.deleted,
            "seconds": self.seconds,
            "messages_per_s": self.messages_per_s,
            "per_message": self.usage.per(min(self.deleted, self.sent)),
            "usage": self.usage.as_dict(),
        }


@dataclass
class CycleState:
    unsent: int
    sent: int = 0
    deleted: int = 0

    def take_batch(self) -> int:
        count = min(SQS_BATCH, self.unsent)
        self.unsent -= count
        return count


async def receive_and_delete(sqs: Any, queue_url: str, wait_seconds: int) -> int:
    """One receive of up to 10, asked as the consumer asks, then one batch delete.
    Returns how many messages the delete removed."""
    response = await sqs.receive_message(
        QueueUrl=queue_url,
        MaxNumberOfMessages=SQS_BATCH,
        WaitTimeSeconds=wait_seconds,
        VisibilityTimeout=30,
        MessageSystemAttributeNames=["ApproximateReceiveCount"],
        MessageAttributeNames=["All"],
    )
    messages = response.get("Messages", [])
    if not messages:
        return 0
    entries = [
        {"Id": str(index), "ReceiptHandle": message["ReceiptHandle"]}
        for index, message in enumerate(messages)
    ]
    deleted = await sqs.delete_message_batch(QueueUrl=queue_url, Entries=entries)
    return len(deleted.get("Successful", []))


async def cycle_worker(sqs: Any, queue_url: str, state: CycleState, sample: Envelope) -> None:
    """Send a batch of 10, then receive and delete until as many are gone (or the queue is
    empty: another worker took them), so the queue holds at most about 10 messages per
    worker (moto's cost per message grows with depth). Returns once nothing is left to
    send and a receive finds the queue empty."""
    body, attributes = sample.to_json(), message_attributes(sample)
    owed = 0  # sent by this worker minus deleted by it; other workers may take its messages
    while True:
        batch = state.take_batch()
        if batch:
            entries = [
                {"Id": str(index), "MessageBody": body, "MessageAttributes": attributes}
                for index in range(batch)
            ]
            await sqs.send_message_batch(QueueUrl=queue_url, Entries=entries)
            state.sent += batch
            owed += batch
        while True:
            deleted = await receive_and_delete(sqs, queue_url, 1 if batch else 0)
            state.deleted += deleted
            owed -= deleted
            if deleted == 0 and not batch:
                return
            if deleted == 0 or owed <= 0:
                break


async def ceiling_run(aws: Aws, meter: UsageMeter, workers: int, messages: int) -> CeilingRun:
    queue = await ensure_queue(aws.sqs, unique("bench-ceiling"))
    state = CycleState(unsent=messages)
    sample = quote_event("CEIL", 0)  # the pipeline's message body and attributes
    try:
        with meter.measure() as usage:
            start = time.perf_counter()
            await asyncio.gather(
                *(cycle_worker(aws.sqs, queue.url, state, sample) for _ in range(workers))
            )
            seconds = time.perf_counter() - start
    finally:
        await aws.sqs.delete_queue(QueueUrl=queue.url)
    return CeilingRun(workers, state.sent, state.deleted, seconds, usage[0])


async def run_ceiling(aws: Aws, meter: UsageMeter, params: Params) -> list[CeilingRun]:
    runs = []
    for workers in params.ceiling_workers:
        run = await ceiling_run(aws, meter, workers, params.ceiling_messages)
        progress(
            f"{workers} worker(s): {run.sent} sent, {run.deleted} deleted in "
            f"{run.seconds:.1f} s = {run.messages_per_s:.0f} msg/s"
        )
        runs.append(run)
    return runs


# ------------------------------------------------------------------------------ 2+3. pipeline


class DeliveryTracker:
    """Turns the consumers' reports into per-delivery and per-event latencies."""

    def __init__(self, fan_out: int) -> None:
        self.fan_out = fan_out
        self.outcomes: Counter[str] = Counter()
        self.delivery_lags_ms: list[float] = []
        self.event_lags_ms: list[float] = []  # until the last consumer handled it
        self.delivered = 0  # events handled by every consumer
        self.last_delivered_at = 0.0
        self.on_delivered: Callable[[], None] | None = None
        self._lags: dict[str, list[float]] = defaultdict(list)
        self._waiters: dict[str, asyncio.Future[float]] = {}
        self._target: tuple[int, asyncio.Event] | None = None

    def report(self, report: MessageReport) -> None:
        """The consumers' ``on_report`` sink."""
        self.outcomes[report.outcome.value] += 1
        if report.outcome is not Outcome.HANDLED or report.event_id is None:
            return
        lag = report.lag_ms if report.lag_ms is not None else math.nan
        self.delivery_lags_ms.append(lag)
        lags = self._lags[report.event_id]
        lags.append(lag)
        if len(lags) == self.fan_out:
            del self._lags[report.event_id]
            self._event_delivered(report.event_id, max(lags))

    def _event_delivered(self, event_id: str, lag_ms: float) -> None:
        self.delivered += 1
        self.last_delivered_at = time.perf_counter()
        self.event_lags_ms.append(lag_ms)
        waiter = self._waiters.pop(event_id, None)
        if waiter is not None and not waiter.done():
            waiter.set_result(lag_ms)
        if self.on_delivered is not None:
            self.on_delivered()
        if self._target is not None and self.delivered >= self._target[0]:
            self._target[1].set()

    def expect(self, event_id: str) -> asyncio.Future[float]:
        """A future of the event's lag, resolved once every consumer handled it."""
        waiter: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        self._waiters[event_id] = waiter
        return waiter

    def reached(self, count: int) -> asyncio.Event:
        """An event set once ``count`` events were handled by every consumer."""
        reached = asyncio.Event()
        self._target = (count, reached)
        if self.delivered >= count:
            reached.set()
        return reached

    def forget_measurements(self) -> None:
        self.delivery_lags_ms.clear()
        self.event_lags_ms.clear()


@dataclass
class Segment:
    """One event-store table with the relay that publishes its outbox."""

    store: DynamoDBEventStore
    relay: OutboxRelay
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    versions: dict[str, int] = field(default_factory=dict)  # stream -> last version
    appended: int = 0
    in_flight: int = 0
    idle: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self.idle.set()
        self.task = asyncio.create_task(self.relay.run(self.stop))

    async def retire(self) -> None:
        """Stop the relay once no append is under way, then publish what it left."""
        await self.idle.wait()
        self.stop.set()
        if self.task is not None:
            await self.task
        await self.relay.publish_pending()


class Producer:
    """The producing service: DynamoDBEventStore.append with the outbox marker, which
    hands the event to the running relay. Its table is swapped for a fresh one every
    ``segment_events`` appends (0: never): moto deep-copies the whole table on every
    TransactWriteItems action, so an append would otherwise cost time in proportion to
    the events already stored, which real DynamoDB does not."""

    def __init__(self, aws: Aws, tables: Sequence[str], params: Params) -> None:
        publisher = SnsPublisher(aws.sns, aws.topics)
        stores = [DynamoDBEventStore(aws.dynamodb, table) for table in tables]
        self._segments = [
            Segment(store, OutboxRelay(store, publisher, batch_size=params.relay_batch_size))
            for store in stores
        ]
        self._segment_events = params.segment_events
        self._current = 0
        self.appended = 0
        self._retiring: list[asyncio.Task[None]] = []

    def start(self) -> None:
        self._segments[0].start()

    async def append(self, event: Envelope) -> None:
        segment = self._segments[self._current]
        stream = event.subject or event.id
        expected = segment.versions.get(stream, 0)
        segment.versions[stream] = expected + 1
        segment.in_flight += 1
        segment.idle.clear()
        try:
            await segment.store.append(stream, [event], expected_version=expected)
        finally:
            segment.in_flight -= 1
            if segment.in_flight == 0:
                segment.idle.set()
        segment.appended += 1
        self.appended += 1
        if segment.appended == self._segment_events:
            self._next_segment()

    def _next_segment(self) -> None:
        if self._current + 1 >= len(self._segments):
            return  # out of fresh tables: carry on with this one
        self._retiring.append(asyncio.create_task(self._segments[self._current].retire()))
        self._current += 1
        self._segments[self._current].start()

    async def close(self) -> None:
        await asyncio.gather(*self._retiring)
        current = self._segments[self._current]
        current.stop.set()
        if current.task is not None:
            await current.task


def segment_count(events: int, params: Params) -> int:
    if params.segment_events <= 0:
        return 1
    return math.ceil(events / params.segment_events) + 1


@dataclass
class Pipeline:
    producer: Producer
    consumers: list[SqsConsumer]
    tracker: DeliveryTracker


@dataclass
class Resources:
    tables: list[str] = field(default_factory=list)
    subscriptions: list[ServiceSubscription] = field(default_factory=list)

    async def table(self, aws: Aws, name: str) -> str:
        await ensure_table(aws.dynamodb, name)
        self.tables.append(name)
        return name

    async def remove(self, aws: Aws) -> None:
        for subscription in self.subscriptions:
            await remove_subscription(aws.sns, aws.sqs, subscription, delete_dlq=True)
        for table in self.tables:
            await aws.dynamodb.delete_table(TableName=table)


async def handle_quote(event: DecodedEvent[Any]) -> None:
    """The consumers' handler does nothing: the benchmark measures the backbone."""


async def make_consumer(
    aws: Aws, resources: Resources, params: Params, service: str, tracker: DeliveryTracker
) -> SqsConsumer:
    """A service's queue subscribed to its catalog topics, and its consumer recording
    idempotency in the service's own table (as in MarketScope: one table per service)."""
    name = unique(f"bench-{service}")
    subscription = await subscribe_service(
        aws.sns, aws.sqs, aws.topics, service, queue_name=name, dlq_name=f"{name}-dlq"
    )
    resources.subscriptions.append(subscription)
    idempotency = DynamoDBIdempotencyStore(aws.dynamodb, await resources.table(aws, name))
    settings = ConsumerSettings(
        name=service,
        queue_url=subscription.queue.url,
        batch_size=params.consumer_batch_size,
        wait_time_seconds=params.wait_time_seconds,
        concurrency=params.consumer_concurrency,
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


class QuoteSource:
    """Quotes for a few symbols of its own (so appenders never race on a stream)."""

    def __init__(self, name: str, symbols: int) -> None:
        self._symbols = [f"{name}{index:02d}" for index in range(symbols)]
        self._ticks = 0

    def next_event(self) -> Envelope:
        self._ticks += 1
        return quote_event(self._symbols[self._ticks % len(self._symbols)], self._ticks)


@dataclass
class ThroughputResult:
    status: str
    events: int
    appended: int
    delivered: int
    append_seconds: float
    seconds: float
    deliveries_lag_ms: list[float]
    events_lag_ms: list[float]
    outcomes: dict[str, int]
    usage: Usage

    @property
    def appended_per_s(self) -> float:
        return self.appended / self.append_seconds

    @property
    def events_per_s(self) -> float:
        return self.delivered / self.seconds

    @property
    def deliveries_per_s(self) -> float:
        return self.events_per_s * len(SERVICES)

    def as_dict(self) -> dict[str, Any]:
        return {
            "events": self.events,
            "events_appended": self.appended,
            "events_handled_by_all": self.delivered,
            "status": self.status,
            "seconds": self.seconds,
            "append_seconds": self.append_seconds,
            "events_appended_per_s": self.appended_per_s,
            "events_handled_by_all_per_s": self.events_per_s,
            "deliveries_per_s": self.deliveries_per_s,
            "delivery_latency": latency_summary(self.deliveries_lag_ms),
            "event_latency_all_consumers": latency_summary(self.events_lag_ms),
            "outcomes": self.outcomes,
            "per_delivery": self.usage.per(self.delivered * len(SERVICES)),
            "usage": self.usage.as_dict(),
        }


async def produce(
    producer: Producer, source: QuoteSource, window: asyncio.Semaphore, count: int
) -> float:
    """Append ``count`` events, each once the window has room; returns when it finished."""
    for _ in range(count):
        await window.acquire()
        await producer.append(source.next_event())
    return time.perf_counter()


async def report_progress(tracker: DeliveryTracker, total: int, start: float) -> None:
    while True:
        await asyncio.sleep(PROGRESS_EVERY_S)
        elapsed = time.perf_counter() - start
        progress(
            f"{tracker.delivered}/{total} events handled by all consumers "
            f"({tracker.delivered / elapsed:.0f} events/s so far)"
        )


async def supervise(
    tracker: DeliveryTracker,
    done: asyncio.Event,
    producers: Sequence[asyncio.Task[float]],
    limit_s: float,
) -> str:
    """Wait for every event to be delivered; stop early if deliveries stall (moto's SQS is
    not thread-safe and can lose a message) or time runs out; raise an appender's error."""
    start = seen_at = time.perf_counter()
    seen = tracker.delivered
    while not done.is_set():
        for task in producers:
            if task.done() and not task.cancelled() and task.exception() is not None:
                task.result()
        now = time.perf_counter()
        if tracker.delivered != seen:
            seen, seen_at = tracker.delivered, now
        if now - seen_at > STALL_S:
            return f"stalled: no event delivered for {STALL_S:.0f} s"
        if now - start > limit_s:
            return f"timed out after {limit_s:.0f} s"
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(done.wait(), timeout=0.5)
    return "complete"


def split(total: int, parts: int) -> list[int]:
    return [total // parts + (1 if index < total % parts else 0) for index in range(parts)]


async def run_throughput(aws: Aws, meter: UsageMeter, params: Params) -> ThroughputResult:
    async with running(aws, params, params.events) as pipeline:
        tracker = pipeline.tracker
        window = asyncio.Semaphore(params.window)
        tracker.on_delivered = window.release
        done = tracker.reached(params.events)
        with meter.measure() as usage:
            start = time.perf_counter()
            producers = [
                asyncio.create_task(
                    produce(pipeline.producer, QuoteSource(f"P{index}", 4), window, share)
                )
                for index, share in enumerate(split(params.events, params.producers))
            ]
            ticker = asyncio.create_task(report_progress(tracker, params.events, start))
            try:
                status = await supervise(tracker, done, producers, params.phase_timeout_s)
            finally:
                await cancel_all([ticker, *producers])
            if status != "complete":
                progress(status)
        end = tracker.last_delivered_at if tracker.delivered else time.perf_counter()
        appended_at = [task.result() for task in producers if not task.cancelled()]
        return ThroughputResult(
            status=status,
            events=params.events,
            appended=pipeline.producer.appended,
            delivered=tracker.delivered,
            append_seconds=max(appended_at, default=end) - start,
            seconds=end - start,
            deliveries_lag_ms=list(tracker.delivery_lags_ms),
            events_lag_ms=list(tracker.event_lags_ms),
            outcomes=dict(tracker.outcomes),
            usage=usage[0],
        )


@dataclass
class LowLoadResult:
    events: int
    lost: int  # not handled by every consumer within LOW_LOAD_TIMEOUT_S
    warmup: int
    deliveries_lag_ms: list[float]
    events_lag_ms: list[float]
    outcomes: dict[str, int]
    usage: Usage

    def as_dict(self) -> dict[str, Any]:
        return {
            "events": self.events,
            "events_not_handled_by_all": self.lost,
            "warmup_events_excluded": self.warmup,
            "delivery_latency": latency_summary(self.deliveries_lag_ms),
            "event_latency_all_consumers": latency_summary(self.events_lag_ms),
            "outcomes": self.outcomes,
            "per_event": self.usage.per(len(self.events_lag_ms)),
            "usage": self.usage.as_dict(),
        }


async def one_event(pipeline: Pipeline, source: QuoteSource) -> float | None:
    """Append one event and wait until every consumer handled it; returns its lag, or None
    if it was not handled by all in time (the emulator lost a message)."""
    event = source.next_event()
    waiter = pipeline.tracker.expect(event.id)
    await pipeline.producer.append(event)
    try:
        return await asyncio.wait_for(waiter, timeout=LOW_LOAD_TIMEOUT_S)
    except TimeoutError:
        return None


async def run_low_load(aws: Aws, meter: UsageMeter, params: Params) -> LowLoadResult:
    total = params.latency_warmup + params.latency_events
    async with running(aws, params, total) as pipeline:
        source = QuoteSource("L", 1)
        for _ in range(params.latency_warmup):
            await one_event(pipeline, source)
        pipeline.tracker.forget_measurements()
        lost = 0
        with meter.measure() as usage:
            for index in range(params.latency_events):
                lost += await one_event(pipeline, source) is None
                if (index + 1) % 10 == 0:
                    progress(f"{index + 1}/{params.latency_events} events")
        return LowLoadResult(
            events=params.latency_events,
            lost=lost,
            warmup=params.latency_warmup,
            deliveries_lag_ms=list(pipeline.tracker.delivery_lags_ms),
            events_lag_ms=list(pipeline.tracker.event_lags_ms),
            outcomes=dict(pipeline.tracker.outcomes),
            usage=usage[0],
        )


# ------------------------------------------------------------------------------ report


@dataclass(frozen=True)
class EmulatorInfo:
    kind: str
    endpoint: str
    pid: int | None

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "endpoint": self.endpoint, "moto": package_version("moto")}


def package_version(name: str) -> str | None:
    try:
        return version(name)
    except PackageNotFoundError:
        return None


def machine_info(emulator: EmulatorInfo) -> dict[str, Any]:
    return {
        "cpu_count": os.cpu_count(),
        "load_average_at_start": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "emulator": emulator.as_dict(),
    }


def target(what: str, value: float | None, goal: float, *, at_least: bool) -> dict[str, Any]:
    met = value is not None and (value >= goal if at_least else value <= goal)
    return {"what": what, "value": value, "target": goal, "met": met}


def assemble(
    params: Params,
    machine: dict[str, Any],
    started: datetime,
    ceiling: list[CeilingRun],
    throughput: ThroughputResult,
    low_load: LowLoadResult,
) -> dict[str, Any]:
    best = max(ceiling, key=lambda run: run.messages_per_s)
    return {
        "benchmark": "events",
        "timestamp": started.isoformat(timespec="seconds"),
        "machine": machine,
        "parameters": asdict(params),
        "ceiling": {
            "what": "raw SQS send_message_batch -> receive_message(10) -> "
            "delete_message_batch on one queue; the best worker count",
            "messages_per_s": best.messages_per_s,
            "best_workers": best.workers,
            "note": "messages_per_s counts messages deleted; moto's SQS is not thread-safe, "
            "so a message can be lost or handed out twice under concurrency",
            "runs": [run.as_dict() for run in ceiling],
        },
        "pipeline": {
            "what": "append+outbox -> relay -> SNS publish_batch -> 3 queues -> 3 consumers",
            **throughput.as_dict(),
        },
        "low_load": {"what": "one event at a time, awaited on all 3", **low_load.as_dict()},
        "ratio_by_emulator_cpu": cpu_ratio(best, throughput),
        "targets": {
            "ratio": target(
                "pipeline deliveries/s (an SQS message SNS sent, a consumer received, "
                "handled and deleted; 3 per event) / ceiling messages/s (sent, received, "
                "deleted)",
                throughput.deliveries_per_s / best.messages_per_s,
                TARGET_RATIO,
                at_least=True,
            ),
            "low_load_p50_ms": target(
                "publish-to-handled p50 per delivery, one event at a time (ms)",
                percentile(low_load.deliveries_lag_ms, 50),
                TARGET_LOW_LOAD_P50_MS,
                at_least=False,
            ),
        },
    }


def cpu_ratio(best: CeilingRun, throughput: ThroughputResult) -> dict[str, Any]:
    """The ratio the throughputs would have if the emulator had all its CPU to itself in both
    phases: a cross-check that other processes on the machine hardly move."""
    per_message = best.usage.per(min(best.deleted, best.sent))["emulator_cpu_ms"]
    per_delivery = throughput.usage.per(throughput.delivered * len(SERVICES))["emulator_cpu_ms"]
    value = None
    if per_message is not None and per_delivery:
        value = per_message / per_delivery
    return {
        "what": "emulator CPU per ceiling message / emulator CPU per pipeline delivery",
        "ceiling_ms_per_message": per_message,
        "pipeline_ms_per_delivery": per_delivery,
        "value": value,
    }


def fmt(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def latency_line(label: str, summary: dict[str, Any], *quantiles: str) -> str:
    figures = "  ".join(f"{q} {fmt(summary[f'{q}_ms']):>7}" for q in quantiles)
    return f"   {label:<38}{figures}"


def cost_line(per_unit: dict[str, Any], unit: str) -> str:
    return (
        f"   per {unit}: {fmt(per_unit['requests'], 2)} requests, emulator CPU "
        f"{fmt(per_unit['emulator_cpu_ms'], 2)} ms, benchmark CPU "
        f"{fmt(per_unit['client_cpu_ms'], 2)} ms"
    )


def ceiling_lines(ceiling: dict[str, Any]) -> list[str]:
    lines = [
        "1. ceiling: raw SQS send_message_batch -> receive_message(10) -> delete_message_batch",
        f"   {'workers':>7} {'sent':>6} {'deleted':>8} {'seconds':>8} {'msg/s':>7} "
        f"{'req/msg':>8} {'emulator CPU ms/msg':>20} {'emulator busy':>14}",
    ]
    for run in ceiling["runs"]:
        unit, usage = run["per_message"], run["usage"]
        lines.append(
            f"   {run['workers']:>7} {run['messages_sent']:>6} {run['messages_deleted']:>8} "
            f"{fmt(run['seconds'], 2):>8} {fmt(run['messages_per_s'], 0):>7} "
            f"{fmt(unit['requests'], 2):>8} {fmt(unit['emulator_cpu_ms'], 2):>20} "
            f"{fmt(usage['emulator_busy'], 2):>14}"
        )
    lines.append(
        f"   ceiling = {fmt(ceiling['messages_per_s'], 0)} msg/s "
        f"(best: {ceiling['best_workers']} worker(s))"
    )
    return lines


def pipeline_lines(pipeline: dict[str, Any], params: dict[str, Any]) -> list[str]:
    segment = params["segment_events"]
    lines = [
        f"2. pipeline: {pipeline['events']} events; {params['producers']} appenders, at most "
        f"{params['window']} events in flight, relay batch {params['relay_batch_size']}, "
        f"consumer concurrency {params['consumer_concurrency']}, event-store table "
        + (f"swapped every {segment} appends" if segment > 0 else "never swapped"),
        f"   {'events appended/s':<38}{fmt(pipeline['events_appended_per_s']):>9}",
        f"   {'events handled by all 3 consumers/s':<38}"
        f"{fmt(pipeline['events_handled_by_all_per_s']):>9}   "
        f"({pipeline['events_handled_by_all']} events in {fmt(pipeline['seconds'], 2)} s)",
        f"   {'deliveries/s (3 per event)':<38}{fmt(pipeline['deliveries_per_s']):>9}",
        latency_line(
            "publish->handled per delivery (ms)", pipeline["delivery_latency"], "p50", "p95", "p99"
        ),
        latency_line(
            "... until all 3 handled (ms)",
            pipeline["event_latency_all_consumers"],
            "p50",
            "p95",
            "p99",
        ),
        cost_line(pipeline["per_delivery"], "delivery")
        + f"; emulator busy {fmt(pipeline['usage']['emulator_busy'], 2)}",
        f"   outcomes: {pipeline['outcomes']}",
    ]
    if pipeline["status"] != "complete":
        lines.append(f"   INCOMPLETE ({pipeline['status']}): figures cover the events handled")
    return lines


def low_load_lines(low: dict[str, Any]) -> list[str]:
    lines = [
        f"3. low load: {low['events']} events one at a time "
        f"(after {low['warmup_events_excluded']} warm-up events)",
        latency_line("publish->handled per delivery (ms)", low["delivery_latency"], "p50", "p99"),
        latency_line(
            "... until all 3 handled (ms)", low["event_latency_all_consumers"], "p50", "p99"
        ),
        cost_line(low["per_event"], "event"),
    ]
    if low["events_not_handled_by_all"]:
        lines.append(
            f"   {low['events_not_handled_by_all']} event(s) not handled by all 3 within "
            f"{LOW_LOAD_TIMEOUT_S:.0f} s (left out of the figures)"
        )
    return lines


def target_lines(results: dict[str, Any]) -> list[str]:
    ratio, p50 = results["targets"]["ratio"], results["targets"]["low_load_p50_ms"]
    pipeline, ceiling = results["pipeline"], results["ceiling"]
    cpu = results["ratio_by_emulator_cpu"]
    return [
        f"pipeline / ceiling = {fmt(pipeline['deliveries_per_s'])} deliveries/s / "
        f"{fmt(ceiling['messages_per_s'])} msg/s = {fmt(ratio['value'], 2)}"
        f"   target >= {ratio['target']}: {'met' if ratio['met'] else 'NOT met'}",
        "   (both sides count SQS messages that were sent, received and deleted; a pipeline",
        "    delivery is also appended, relayed, published via SNS and handled idempotently)",
        f"   cross-check from emulator CPU (hardly moved by other load on the machine): "
        f"{fmt(cpu['ceiling_ms_per_message'], 2)} ms",
        f"    per ceiling message / {fmt(cpu['pipeline_ms_per_delivery'], 2)} ms per pipeline "
        f"delivery = {fmt(cpu['value'], 2)}",
        f"low-load p50 = {fmt(p50['value'])} ms"
        f"   target <= {p50['target']:.0f} ms: {'met' if p50['met'] else 'NOT met'}",
    ]


def print_report(results: dict[str, Any]) -> None:
    machine, emulator = results["machine"], results["machine"]["emulator"]
    rule = "-" * 90
    lines = [
        "",
        rule,
        f"MarketScope events benchmark, {results['timestamp']}: emulator {emulator['kind']} "
        f"(moto {emulator['moto']}), {machine['cpu_count']} CPUs, Python {machine['python']}",
        rule,
        *ceiling_lines(results["ceiling"]),
        "",
        *pipeline_lines(results["pipeline"], results["parameters"]),
        "",
        *low_load_lines(results["low_load"]),
        rule,
        *target_lines(results),
        rule,
    ]
    print("\n".join(lines), flush=True)


def write_results(results: dict[str, Any], output: Path) -> None:
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(results, indent=2) + "\n")


# ------------------------------------------------------------------------------ main


@contextlib.contextmanager
def emulator_at(endpoint: str | None) -> Iterator[EmulatorInfo]:
    if endpoint:
        yield EmulatorInfo(kind="external", endpoint=endpoint, pid=None)
        return
    process = EmulatorProcess(port=free_port())
    print(f"starting the emulator ({process.kind}) on {process.endpoint}", flush=True)
    with process:
        yield EmulatorInfo(kind=process.kind, endpoint=process.endpoint, pid=process.pid)


async def benchmark(params: Params, emulator: EmulatorInfo) -> dict[str, Any]:
    started, machine = datetime.now(UTC), machine_info(emulator)
    settings = AwsSettings(endpoint_url=emulator.endpoint, default_region="us-east-1")
    async with AwsClients(settings) as clients:
        aws = await connect(clients)
        meter = UsageMeter(aws.requests, emulator.pid)
        print(f"[1/3] ceiling: raw SQS cycles, workers {params.ceiling_workers}", flush=True)
        ceiling = await run_ceiling(aws, meter, params)
        print(f"[2/3] pipeline: {params.events} events through 3 consumers", flush=True)
        throughput = await run_throughput(aws, meter, params)
        print(f"[3/3] low load: {params.latency_events} events one at a time", flush=True)
        low_load = await run_low_load(aws, meter, params)
    if hasattr(os, "getloadavg"):
        machine["load_average_at_end"] = list(os.getloadavg())
    return assemble(params, machine, started, ceiling, throughput, low_load)


def main(argv: Sequence[str] | None = None) -> int:
    params, endpoint, output = parse_args(argv)
    with emulator_at(endpoint) as emulator:
        results = asyncio.run(benchmark(params, emulator))
    print_report(results)
    write_results(results, output)
    print(f"results written to {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
