"""Instance queues left behind by gateways that died, found by name and heartbeat and
removed.

Each instance tags its own queue ``marketscope:heartbeat`` (epoch seconds) when it has
subscribed it, and again every `HEARTBEAT_SECONDS`. A queue named
``marketscope-gateway-<instance>`` (the shared DLQ aside) whose heartbeat is older than
`ABANDONED_AFTER_SECONDS`, or that has none and was created longer ago than that, belongs
to an instance that stopped without removing it (a crash, a SIGKILL): every live instance
unsubscribes it from its topics and deletes it at each beat, the next one to start first.
Otherwise every event would still be copied into it, for nobody, until its retention ran
out.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from marketscope_events.catalog import queue_name
from marketscope_servicekit import BackgroundJob

if TYPE_CHECKING:
    from types_aiobotocore_sns import SNSClient
    from types_aiobotocore_sqs import SQSClient

    from marketscope_gateway.live.feed import LiveFeed

HEARTBEAT_TAG = "marketscope:heartbeat"
HEARTBEAT_SECONDS = 60.0
ABANDONED_AFTER_SECONDS = 15 * 60.0
INSTANCE_PREFIX = f"{queue_name('gateway')}-"

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class QueueUpkeep:
    sns: SNSClient
    sqs: SQSClient
    own_queue: str
    shared_dlq: str
    abandoned_after: float = ABANDONED_AFTER_SECONDS
    clock: Callable[[], float] = time.time

    async def beat(self, queue_url: str) -> None:
        await self.sqs.tag_queue(QueueUrl=queue_url, Tags={HEARTBEAT_TAG: str(int(self.clock()))})

    async def sweep(self) -> list[str]:
        """Remove the abandoned instance queues; the names removed."""
        removed = []
        for url in await self._instance_queues():
            name = url.rsplit("/", 1)[-1]
            if name in (self.own_queue, self.shared_dlq):
                continue
            if await self.abandoned(url):
                await self._remove(url)
                logger.info("removed %s, abandoned by its gateway instance", name)
                removed.append(name)
        return removed

    async def _instance_queues(self) -> list[str]:
        urls: list[str] = []
        paginator = self.sqs.get_paginator("list_queues")
        async for page in paginator.paginate(QueueNamePrefix=INSTANCE_PREFIX):
            urls.extend(page.get("QueueUrls", []))
        return urls

    async def abandoned(self, url: str) -> bool:
        """Whether the instance queue at ``url`` has outlived its instance."""
        tags = (await self.sqs.list_queue_tags(QueueUrl=url)).get("Tags", {})
        if HEARTBEAT_TAG in tags:
            last = float(tags[HEARTBEAT_TAG])
        else:  # an instance that has not beaten yet, or died before it could
            attributes = await self.sqs.get_queue_attributes(
                QueueUrl=url, AttributeNames=["CreatedTimestamp"]
            )
            last = float(attributes["Attributes"]["CreatedTimestamp"])
        return self.clock() - last > self.abandoned_after

    async def _remove(self, url: str) -> None:
        attributes = await self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
        arn = attributes["Attributes"]["QueueArn"]
        paginator = self.sns.get_paginator("list_subscriptions")
        async for page in paginator.paginate():
            for subscription in page.get("Subscriptions", []):
                if subscription.get("Endpoint") == arn:
                    await self.sns.unsubscribe(SubscriptionArn=subscription["SubscriptionArn"])
        await self.sqs.delete_queue(QueueUrl=url)


def queue_upkeep_job(
    feed: LiveFeed, upkeep: QueueUpkeep, every: float = HEARTBEAT_SECONDS
) -> BackgroundJob:
    """The background job: once this instance's queue is subscribed, beat and sweep every
    ``every`` seconds until stopped (an AWS failure raises: the job is retried)."""

    async def job(stop: asyncio.Event) -> None:
        await feed.subscribed.wait()
        while not stop.is_set():
            if feed.subscription is not None:
                await upkeep.beat(feed.subscription.queue.url)
            await upkeep.sweep()
            try:
                await asyncio.wait_for(stop.wait(), every)
            except TimeoutError:
                continue

    return job
