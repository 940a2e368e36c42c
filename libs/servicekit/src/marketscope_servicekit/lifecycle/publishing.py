"""One way to run a service's outbox relay: publishing what its event store marks
pending to the catalog's SNS topics, as a `BackgroundTasks` job."""

from __future__ import annotations

import asyncio
import logging

from marketscope_events import EventStore, LazySnsPublisher, OutboxRelay
from marketscope_platform.aws import AwsClients
from marketscope_servicekit.lifecycle.background import BackgroundJob
from marketscope_servicekit.stopping import until_stopped

logger = logging.getLogger(__name__)


async def build_relay(
    aws: AwsClients, store: EventStore, *, idle_interval: float = 5.0
) -> OutboxRelay:
    """The relay of ``store``; topic ARNs are resolved on its first publish, so building
    it makes no AWS call. Appends hand their events over to it directly; the idle sweep
    only catches what another instance or a crash left pending."""
    publisher = LazySnsPublisher(
        await aws.client("sns"), await aws.client("sts"), aws.settings.default_region
    )
    return OutboxRelay(store, publisher, idle_interval=idle_interval)


def run_relay(relay: OutboxRelay, *, finish_seconds: float = 2.0) -> BackgroundJob:
    """The relay as a job. At a stop, a pass still publishing gets ``finish_seconds``;
    past that it is cancelled, which loses nothing: what it had not marked published
    keeps its outbox marker and the next start's sweep publishes it (at-least-once)."""

    async def job(stop: asyncio.Event) -> None:
        running = asyncio.create_task(relay.run(stop))
        await until_stopped(asyncio.shield(running), stop)
        try:
            await asyncio.wait_for(running, timeout=finish_seconds)
        except TimeoutError:
            logger.warning("outbox relay stopped mid-pass; the next sweep publishes the rest")

    return job
