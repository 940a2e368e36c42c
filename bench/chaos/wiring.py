"""The AWS side of a run: the emulator, the clients, and the uniquely named queues (with
their DLQs and redrive policy), subscriptions and tables a run makes and removes."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from fleet import ConsumerSpec
from ledger import create_ledger_table
from params import CONSUMERS

from marketscope_emulator.process import EmulatorProcess, free_port
from marketscope_events import CATALOG
from marketscope_events.publishing import TopicDirectory
from marketscope_events.store import ensure_table
from marketscope_events.subscriptions import (
    ServiceSubscription,
    ensure_topic,
    remove_subscription,
    subscribe_service,
)
from marketscope_platform import AwsClients


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


@contextlib.contextmanager
def emulator_at(endpoint: str | None) -> Iterator[EmulatorInfo]:
    if endpoint:
        yield EmulatorInfo(kind="external", endpoint=endpoint, pid=None)
        return
    process = EmulatorProcess(port=free_port())
    print(f"starting the emulator ({process.kind}) on {process.endpoint}", flush=True)
    with process:
        yield EmulatorInfo(kind=process.kind, endpoint=process.endpoint, pid=process.pid)


@dataclass
class Aws:
    sqs: Any
    sns: Any
    dynamodb: Any
    topics: TopicDirectory


async def connect(clients: AwsClients) -> Aws:
    sqs, sns, dynamodb = [await clients.client(name) for name in ("sqs", "sns", "dynamodb")]
    for spec in CATALOG:
        if spec.topic is not None:
            await ensure_topic(sns, spec.topic)
    region = clients.settings.default_region
    topics = await TopicDirectory.from_sts(await clients.client("sts"), region)
    return Aws(sqs=sqs, sns=sns, dynamodb=dynamodb, topics=topics)


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@dataclass
class Resources:
    tables: list[str] = field(default_factory=list)
    subscriptions: list[ServiceSubscription] = field(default_factory=list)

    async def table(self, aws: Aws, name: str) -> str:
        await ensure_table(aws.dynamodb, name)
        self.tables.append(name)
        return name

    async def many_tables(self, aws: Aws, prefix: str, count: int) -> list[str]:
        """``count`` service tables at once (the event store's segments)."""
        names = [unique(prefix) for _ in range(count)]
        await asyncio.gather(*(ensure_table(aws.dynamodb, name) for name in names))
        self.tables.extend(names)
        return names

    async def ledgers(self, aws: Aws, count: int) -> list[str]:
        names = [unique("chaos-ledger") for _ in range(count)]
        await asyncio.gather(*(create_ledger_table(aws.dynamodb, name) for name in names))
        self.tables.extend(names)
        return names

    async def consumers(self, aws: Aws, visibility_timeout: int, shards: int) -> list[ConsumerSpec]:
        """Per consumer: a queue subscribed as its service's (``subscribe_service``: the
        DLQ, the redrive policy, the queue policy, raw delivery), and ``shards`` service
        tables for its idempotency records."""
        specs = []
        for name, service in CONSUMERS:
            queue = unique(f"chaos-{name}")
            subscription = await subscribe_service(
                aws.sns,
                aws.sqs,
                aws.topics,
                service,
                queue_name=queue,
                dlq_name=f"{queue}-dlq",
                visibility_timeout=visibility_timeout,
            )
            self.subscriptions.append(subscription)
            tables = await self.many_tables(aws, queue, shards)
            specs.append(
                ConsumerSpec(
                    name=name,
                    service=service,
                    queue_url=subscription.queue.url,
                    dlq_url=subscription.dlq.url,
                    idempotency_tables=tuple(tables),
                )
            )
        return specs

    async def remove(self, aws: Aws) -> None:
        for subscription in self.subscriptions:
            await remove_subscription(aws.sns, aws.sqs, subscription, delete_dlq=True)
        await asyncio.gather(*(aws.dynamodb.delete_table(TableName=t) for t in self.tables))


async def other_subscribers(aws: Aws, specs: list[ConsumerSpec]) -> list[str]:
    """Endpoints subscribed to the QuoteUpdated topic other than this run's queues: on an
    emulator something else uses, they receive the run's events too."""
    topic = CATALOG.spec("QuoteUpdated").topic
    if topic is None:
        return []
    ours = {spec.queue_url.rsplit("/", 1)[-1] for spec in specs}
    others: list[str] = []
    paginator = aws.sns.get_paginator("list_subscriptions_by_topic")
    async for page in paginator.paginate(TopicArn=aws.topics.arn(topic)):
        for subscription in page.get("Subscriptions", []):
            endpoint = str(subscription.get("Endpoint", ""))
            if endpoint.rsplit(":", 1)[-1] not in ours:
                others.append(endpoint)
    return others


async def redrive_policy(aws: Aws, queue_url: str) -> str | None:
    attributes = await aws.sqs.get_queue_attributes(
        QueueUrl=queue_url, AttributeNames=["RedrivePolicy"]
    )
    policy = attributes.get("Attributes", {}).get("RedrivePolicy")
    return None if policy is None else str(policy)
