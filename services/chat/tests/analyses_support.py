"""What the analysis tests share: a chat app whose worker consumes a queue of its own
(subscribed to AnalysisRequested like the service's queue, so no other chat app of the
session takes its jobs), in front of the real market-data and rag apps."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from marketscope_chat.main import create_app
from marketscope_chat.settings import Settings
from marketscope_events import (
    ConsumerSettings,
    DynamoDBIdempotencyStore,
    SqsConsumer,
)
from marketscope_events.subscriptions import ServiceSubscription
from marketscope_platform.aws import AwsClients, AwsSettings
from marketscope_servicekit import Identity
from marketscope_servicekit.testing import GatewaySigner, private_subscription, served

from .tool_services import Services, running_services

FINISHED = {"completed", "failed", "cancelled"}


def private_queue(aws: AwsClients, label: str) -> AbstractAsyncContextManager[ServiceSubscription]:
    """A queue with its DLQ subscribed to what chat consumes."""
    return private_subscription(aws, "chat", label)


@dataclass
class Analyst:
    url: str
    key: str
    app: Any
    services: Services
    queue: ServiceSubscription

    def client(self, user: str) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            base_url=self.url, timeout=60.0, auth=GatewaySigner(self.key, Identity(user))
        )

    @property
    def components(self) -> Any:
        return self.app.state.components


@asynccontextmanager
async def running_analyst(
    aws_settings: AwsSettings, index: Path, key: str, **settings: Any
) -> AsyncIterator[Analyst]:
    async with AsyncExitStack() as stack:
        aws = AwsClients(aws_settings)
        stack.push_async_callback(aws.close)
        queue = await stack.enter_async_context(private_queue(aws, "chat"))
        services = await stack.enter_async_context(running_services(aws_settings, index, key))
        app = create_app(
            Settings(
                market_data_url=services.market_data_url,
                rag_url=services.rag_url,
                queue_name=queue.queue.url.rsplit("/", 1)[-1],
                **settings,
            ),
            aws_settings,
        )
        url = await stack.enter_async_context(served(app))
        yield Analyst(url, key, app, services, queue)


async def wait_finished(
    client: httpx.AsyncClient, analysis_id: str, seconds: float = 90.0
) -> dict[str, Any]:
    deadline = time.monotonic() + seconds
    while True:
        response = await client.get(f"/analyses/{analysis_id}")
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        if body["status"] in FINISHED:
            return body
        assert time.monotonic() < deadline, f"{analysis_id} stayed {body['status']}: {body}"
        await asyncio.sleep(0.2)


@dataclass
class HandConsumer:
    """The app's handlers on a queue of the test's own, polled when the test says."""

    consumer: SqsConsumer
    queue: ServiceSubscription
    sqs: Any
    idempotency: DynamoDBIdempotencyStore

    async def deliver(self, *bodies: str) -> None:
        for body in bodies:
            await self.sqs.send_message(QueueUrl=self.queue.queue.url, MessageBody=body)


@asynccontextmanager
async def hand_consumer(
    aws_settings: AwsSettings, analyst: Analyst, label: str
) -> AsyncIterator[HandConsumer]:
    aws = AwsClients(aws_settings)
    try:
        sqs, dynamodb = await aws.client("sqs"), await aws.client("dynamodb")
        async with private_queue(aws, label) as queue:
            idempotency = DynamoDBIdempotencyStore(dynamodb, "marketscope-chat")
            consumer = SqsConsumer(
                sqs, ConsumerSettings("chat", queue.queue.url, wait_time_seconds=1), idempotency
            )
            analyst.components.handlers.register(consumer)
            yield HandConsumer(consumer, queue, sqs, idempotency)
    finally:
        await aws.close()
