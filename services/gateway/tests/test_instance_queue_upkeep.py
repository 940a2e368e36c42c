"""Instance queues a crashed gateway left behind: a running gateway tags its own queue
with a heartbeat, and removes (unsubscribes and deletes) the instance queues whose
heartbeat is stale, on the emulator over HTTP."""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest

from marketscope_events import TopicDirectory
from marketscope_events.subscriptions import ServiceSubscription, subscribe_service
from marketscope_gateway.live.feed import SHARED_DLQ, instance_queue_name
from marketscope_gateway.live.upkeep import (
    ABANDONED_AFTER_SECONDS,
    HEARTBEAT_TAG,
    QueueUpkeep,
)
from marketscope_platform import AwsClients

from .conftest import MakeGateway

pytestmark = pytest.mark.integration


async def instance_queue(aws: AwsClients, heartbeat: float | None) -> ServiceSubscription:
    """An instance queue subscribed as a gateway subscribes its own."""
    sqs, sns = await aws.client("sqs"), await aws.client("sns")
    topics = await TopicDirectory.from_sts(await aws.client("sts"), aws.settings.default_region)
    name = instance_queue_name(f"upkeep-{uuid.uuid4().hex[:10]}")
    subscription = await subscribe_service(
        sns, sqs, topics, "gateway", queue_name=name, dlq_name=SHARED_DLQ
    )
    if heartbeat is not None:
        await sqs.tag_queue(
            QueueUrl=subscription.queue.url, Tags={HEARTBEAT_TAG: str(int(heartbeat))}
        )
    return subscription


async def exists(aws: AwsClients, subscription: ServiceSubscription) -> bool:
    sqs = await aws.client("sqs")
    try:
        await sqs.get_queue_url(QueueName=subscription.queue.url.rsplit("/", 1)[-1])
    except sqs.exceptions.QueueDoesNotExist:
        return False
    return True


async def subscribed_arns(aws: AwsClients) -> set[str]:
    sns = await aws.client("sns")
    arns: set[str] = set()
    async for page in sns.get_paginator("list_subscriptions").paginate():
        arns.update(s["SubscriptionArn"] for s in page.get("Subscriptions", []))
    return arns


async def test_a_stale_heartbeat_is_swept_and_a_fresh_one_kept(
    provisioned: str, aws: AwsClients
) -> None:
    now = time.time()
    dead = await instance_queue(aws, heartbeat=now - ABANDONED_AFTER_SECONDS - 60)
    live = await instance_queue(aws, heartbeat=now)
    young = await instance_queue(aws, heartbeat=None)  # created just now, not beaten yet
    assert dead.subscription_arns
    upkeep = QueueUpkeep(
        await aws.client("sns"), await aws.client("sqs"), own_queue="mine", shared_dlq=SHARED_DLQ
    )

    removed = await upkeep.sweep()

    dead_name = dead.queue.url.rsplit("/", 1)[-1]
    assert dead_name in removed
    assert live.queue.url.rsplit("/", 1)[-1] not in removed
    assert not await exists(aws, dead)
    assert await exists(aws, live)
    assert await exists(aws, young)
    arns = await subscribed_arns(aws)
    assert not arns & set(dead.subscription_arns)
    assert set(live.subscription_arns) <= arns
    sqs = await aws.client("sqs")
    assert await sqs.get_queue_url(QueueName=SHARED_DLQ)  # the shared DLQ stays

    # Never beaten and older than the limit: its instance died before its first beat.
    # (Judged, not swept: a clock this far ahead would sweep live instances' queues too.)
    later = QueueUpkeep(
        upkeep.sns,
        upkeep.sqs,
        own_queue="mine",
        shared_dlq=SHARED_DLQ,
        clock=lambda: time.time() + ABANDONED_AFTER_SECONDS + 60,
    )
    assert await later.abandoned(young.queue.url)
    assert not await upkeep.abandoned(young.queue.url)
    for leftover in (live, young):
        await sqs.delete_queue(QueueUrl=leftover.queue.url)


async def test_a_starting_gateway_beats_and_removes_what_a_crashed_one_left(
    make_gateway: MakeGateway, aws: AwsClients
) -> None:
    dead = await instance_queue(aws, heartbeat=time.time() - ABANDONED_AFTER_SECONDS - 60)
    sqs = await aws.client("sqs")
    async with make_gateway() as gw:
        feed = gw.app.state.components.live_feed
        async with asyncio.timeout(15):
            # The emulator offers nothing to wait on: it is asked again.
            while await exists(aws, dead):  # noqa: ASYNC110
                await asyncio.sleep(0.1)
            own = (await sqs.get_queue_url(QueueName=feed.queue_name))["QueueUrl"]
            tags = (await sqs.list_queue_tags(QueueUrl=own)).get("Tags", {})
            while HEARTBEAT_TAG not in tags:
                await asyncio.sleep(0.1)
                tags = (await sqs.list_queue_tags(QueueUrl=own)).get("Tags", {})
        beat = float(tags[HEARTBEAT_TAG])
        assert abs(beat - time.time()) < 60
        assert not await subscribed_arns(aws) & set(dead.subscription_arns)
