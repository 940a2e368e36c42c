"""This instance's event feed: its own queue, subscribed when its consumer starts, removed
at shutdown.

Every gateway instance must see every event (its clients are connected to it alone), so
each one makes ``marketscope-gateway-<instance-id>`` with the shared DLQ
``marketscope-gateway-dlq``, subscribes it to the topics the catalog says the gateway
consumes, consumes it (servicekit's ``run_consumer``, with `subscribe` as its queue), and
deletes it (and its subscriptions) when it stops. One shared queue would split the events
between instances.

A crashed instance leaves its queue behind; the live instances find it by name and its
stale heartbeat tag and remove it (``upkeep``).
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from marketscope_events.catalog import dlq_name, queue_name
from marketscope_events.publishing import TopicDirectory
from marketscope_events.subscriptions import (
    ServiceSubscription,
    remove_subscription,
    subscribe_service,
)
from marketscope_gateway.live.upkeep import QueueUpkeep

if TYPE_CHECKING:
    from types_aiobotocore_sns import SNSClient
    from types_aiobotocore_sqs import SQSClient
    from types_aiobotocore_sts import STSClient

SERVICE = "gateway"
SHARED_DLQ = dlq_name(SERVICE)

logger = logging.getLogger(__name__)


def instance_queue_name(instance_id: str) -> str:
    return f"{queue_name(SERVICE)}-{instance_id}"


class LiveFeed:
    def __init__(
        self,
        sns: SNSClient,
        sqs: SQSClient,
        sts: STSClient,
        *,
        region: str,
        instance_id: str,
    ) -> None:
        self._sns = sns
        self._sqs = sqs
        self._sts = sts
        self._region = region
        self.queue_name = instance_queue_name(instance_id)
        # Handled events are recorded per instance: each instance handles every event.
        self.consumer_name = f"{SERVICE}-{instance_id}"
        self.subscription: ServiceSubscription | None = None
        self.subscribed = asyncio.Event()

    async def subscribe(self, sqs: SQSClient) -> str:
        """Make and subscribe the queue (again, harmlessly, when the consumer restarts);
        its URL. Raises while AWS does not answer: the consumer job is retried."""
        topics = await TopicDirectory.from_sts(self._sts, self._region)
        self.subscription = await subscribe_service(
            self._sns, sqs, topics, SERVICE, queue_name=self.queue_name, dlq_name=SHARED_DLQ
        )
        logger.info("subscribed %s", self.queue_name)
        self.subscribed.set()
        return self.subscription.queue.url

    def upkeep(self) -> QueueUpkeep:
        """This instance's heartbeat, and the sweep of instance queues abandoned."""
        return QueueUpkeep(self._sns, self._sqs, own_queue=self.queue_name, shared_dlq=SHARED_DLQ)

    async def remove(self) -> None:
        """Unsubscribe and delete this instance's queue (the shared DLQ stays)."""
        if self.subscription is None:
            return
        await remove_subscription(self._sns, self._sqs, self.subscription)
        logger.info("removed %s", self.queue_name)
        self.subscription = None
