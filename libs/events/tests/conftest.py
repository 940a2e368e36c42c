"""Fixtures for the integration tests: every resource is made with a unique name on the
selected AWS backend (the embedded emulator by default) and removed afterwards."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from marketscope_events import CATALOG
from marketscope_events.publishing import SnsPublisher, TopicDirectory
from marketscope_events.store import ensure_table
from marketscope_events.subscriptions import (
    ServiceSubscription,
    ensure_topic,
    remove_subscription,
    subscribe_service,
)
from marketscope_platform import AwsClients

from .helpers import unique


@pytest.fixture
async def table(aws: AwsClients) -> AsyncIterator[str]:
    dynamodb = await aws.client("dynamodb")
    name = unique("test-events")
    await ensure_table(dynamodb, name)
    yield name
    await dynamodb.delete_table(TableName=name)


@pytest.fixture
async def topics(aws: AwsClients) -> TopicDirectory:
    sns = await aws.client("sns")
    for spec in CATALOG:
        await ensure_topic(sns, spec.topic)
    return await TopicDirectory.from_sts(await aws.client("sts"), aws.settings.default_region)


@pytest.fixture
async def publisher(aws: AwsClients, topics: TopicDirectory) -> SnsPublisher:
    return SnsPublisher(await aws.client("sns"), topics)


SubscribeFn = Callable[..., Awaitable[ServiceSubscription]]


@pytest.fixture
async def subscribe(aws: AwsClients, topics: TopicDirectory) -> AsyncIterator[SubscribeFn]:
    """Give a service a uniquely named queue + DLQ wired to its catalog topics."""
    sns, sqs = await aws.client("sns"), await aws.client("sqs")
    made: list[ServiceSubscription] = []

    async def make(service: str, *, visibility_timeout: int = 30) -> ServiceSubscription:
        name = unique(f"test-{service}")
        subscription = await subscribe_service(
            sns,
            sqs,
            topics,
            service,
            queue_name=name,
            dlq_name=f"{name}-dlq",
            visibility_timeout=visibility_timeout,
        )
        made.append(subscription)
        return subscription

    yield make
    for subscription in made:
        await remove_subscription(sns, sqs, subscription, delete_dlq=True)
