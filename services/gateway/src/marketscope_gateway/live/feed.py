"""This instance's event feed: its own queue, subscribed at start, removed at shutdown.

Every gateway instance must see every event (its clients are connected to it alone), so
each one makes ``marketscope-gateway-<instance-id>`` with the shared DLQ
``marketscope-gateway-dlq``, subscribes it to the topics the catalog says the gateway
consumes, consumes it, and deletes it (and its subscriptions) when it stops. One shared
queue would split the events between instances.

A crashed instance leaves its queue behind; it expires with its retention period (4 days)
and its subscriptions can be removed by name prefix.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict
from datetime import timedelta

from marketscope_events import ConsumerSettings, MessageReport, SqsConsumer
from marketscope_events.catalog import dlq_name, queue_name
from marketscope_events.consuming import IdempotencyStore
from marketscope_events.errors import EventAlreadyHandledError, EventInProgressError
from marketscope_events.publishing import TopicDirectory
from marketscope_events.subscriptions import (
    ServiceSubscription,
    remove_subscription,
    subscribe_service,
)
from marketscope_gateway.live.handlers import LivePush
from marketscope_platform import AwsClients
from marketscope_servicekit import MetricsRecorder

SERVICE = "gateway"
SHARED_DLQ = dlq_name(SERVICE)
# Long polls return at once when a message arrives; a short one only bounds shutdown.
POLL_SECONDS = 2

logger = logging.getLogger(__name__)


def instance_queue_name(instance_id: str) -> str:
    return f"{queue_name(SERVICE)}-{instance_id}"


class RecentEvents(IdempotencyStore):
    """Idempotency for a queue that lives as long as the process: the last N event ids in
    memory (the emulator, and SQS itself, occasionally deliver a message twice)."""

    def __init__(self, capacity: int = 50_000) -> None:
        self._capacity = capacity
        self._states: OrderedDict[str, bool] = OrderedDict()  # event id -> completed

    async def begin(self, consumer: str, event_id: str, *, claim_for: timedelta) -> None:
        state = self._states.get(event_id)
        if state is True:
            raise EventAlreadyHandledError(consumer, event_id)
        if state is False:
            raise EventInProgressError(consumer, event_id)
        self._states[event_id] = False
        while len(self._states) > self._capacity:
            self._states.popitem(last=False)

    async def complete(self, consumer: str, event_id: str, *, keep_for: timedelta) -> None:
        self._states[event_id] = True

    async def release(self, consumer: str, event_id: str) -> None:
        self._states.pop(event_id, None)


class LiveFeed:
    def __init__(
        self,
        aws: AwsClients,
        push: LivePush,
        metrics: MetricsRecorder,
        *,
        instance_id: str,
    ) -> None:
        self._aws = aws
        self._push = push
        self._metrics = metrics
        self.queue_name = instance_queue_name(instance_id)
        self._stopping = asyncio.Event()
        self._consumer: SqsConsumer | None = None
        self.subscription: ServiceSubscription | None = None
        self.subscribed = asyncio.Event()

    async def _subscribe(self) -> ServiceSubscription:
        sns, sqs = await self._aws.client("sns"), await self._aws.client("sqs")
        topics = await TopicDirectory.from_sts(
            await self._aws.client("sts"), self._aws.settings.default_region
        )
        return await subscribe_service(
            sns, sqs, topics, SERVICE, queue_name=self.queue_name, dlq_name=SHARED_DLQ
        )

    async def run(self) -> None:
        """Subscribe (retrying while AWS is unreachable), then consume until ``stop``."""
        delay = 0.5
        while self.subscription is None and not self._stopping.is_set():
            try:
                self.subscription = await self._subscribe()
            except Exception as exc:  # botocore raises many kinds; all mean "not yet"
                logger.warning("could not subscribe %s (%s); retrying", self.queue_name, exc)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), timeout=delay)
                delay = min(delay * 2, 30.0)
        if self.subscription is None:
            return
        logger.info("subscribed %s", self.queue_name)
        self.subscribed.set()
        consumer = SqsConsumer(
            await self._aws.client("sqs"),
            ConsumerSettings(SERVICE, self.subscription.queue.url, wait_time_seconds=POLL_SECONDS),
            RecentEvents(),
            on_report=self._report,
        )
        self._push.register(consumer)
        self._consumer = consumer
        if self._stopping.is_set():
            return
        await consumer.run()

    def _report(self, report: MessageReport) -> None:
        if report.lag_ms is not None:
            dimensions = {"Event": (report.event_type or "unknown").split(".")[2]}
            self._metrics.record(
                "EventLag", report.lag_ms, unit="Milliseconds", dimensions=dimensions
            )

    def stop(self) -> None:
        self._stopping.set()
        if self._consumer is not None:
            self._consumer.stop()

    async def remove(self) -> None:
        """Unsubscribe and delete this instance's queue (the shared DLQ stays)."""
        if self.subscription is None:
            return
        sns, sqs = await self._aws.client("sns"), await self._aws.client("sqs")
        await remove_subscription(sns, sqs, self.subscription)
        logger.info("removed %s", self.queue_name)
        self.subscription = None
