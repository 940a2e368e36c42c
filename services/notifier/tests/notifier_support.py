"""What the notifier's HTTP tests share: the app served against the emulator, consuming a
queue of the test's own (subscribed like the service's), and waiting for what it does."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx

from marketscope_events import CATALOG, Envelope, SnsPublisher, TopicDirectory
from marketscope_events.catalog import AnalysisCompleted, QuoteUpdated
from marketscope_events.subscriptions import ServiceSubscription
from marketscope_notifier.main import create_app
from marketscope_notifier.settings import Settings
from marketscope_platform.aws import AwsClients, AwsSettings
from marketscope_servicekit import Identity
from marketscope_servicekit.testing import GatewaySigner, private_subscription, served

WAIT_SECONDS = 30.0
START = datetime(2013, 1, 2, 21, 0, tzinfo=UTC)


@dataclass
class Notifier:
    aws: AwsClients
    queue: ServiceSubscription
    publisher: SnsPublisher
    aws_settings: AwsSettings
    key: str
    url: str = ""

    def client(self, user: str, roles: set[str] | None = None) -> httpx.AsyncClient:
        identity = Identity(user, frozenset(roles or {"user"}))
        return httpx.AsyncClient(
            base_url=self.url, timeout=30.0, auth=GatewaySigner(self.key, identity)
        )

    @asynccontextmanager
    async def running(self, **settings_given: Any) -> AsyncIterator[Any]:
        """The notifier app served, consuming the test's queue; yields the app."""
        queue_name = self.queue.queue.url.rsplit("/", 1)[-1]
        settings = Settings(queue_name=queue_name, **settings_given)
        app = create_app(settings, self.aws_settings)
        async with served(app) as url:
            self.url = url
            yield app

    async def quote(self, symbol: str, price: str, day: int) -> Envelope:
        event = CATALOG.new_event(
            QuoteUpdated(
                symbol=symbol,
                price=Decimal(price),
                previous_price=None,
                change=None,
                change_percent=None,
                as_of=START + timedelta(days=day),
                provider="replay",
            ),
            subject=f"Quote#{symbol}",
        )
        await self.publisher.publish(event)
        return event

    async def evaluated(self, symbol: str, price: str, day: int) -> Envelope:
        """Publish a quote and wait until the notifier evaluated it (it records the price
        once the symbol's alerts are evaluated): the next one then comes after it."""
        event = await self.quote(symbol, price, day)
        dynamodb = await self.aws.client("dynamodb")
        key = {
            "pk": {"S": f"Prices#{symbol}"},
            "sk": {"N": str(int((START + timedelta(days=day)).timestamp()))},
        }

        async def recorded() -> bool:
            found = await dynamodb.get_item(TableName="marketscope-notifier", Key=key)
            return "Item" in found

        await wait_until(recorded, f"{symbol} at {price} evaluated")
        return event


@asynccontextmanager
async def private_notifier(aws_settings: AwsSettings, internal_key: str) -> AsyncIterator[Notifier]:
    """A queue of the test's own, subscribed as the notifier's is; the app consumes it."""
    async with AsyncExitStack() as stack:
        aws = AwsClients(aws_settings)
        stack.push_async_callback(aws.close)
        queue = await stack.enter_async_context(private_subscription(aws, "notifier", "notifier"))
        sns = await aws.client("sns")
        topics = await TopicDirectory.from_sts(await aws.client("sts"), "us-east-1")
        yield Notifier(aws, queue, SnsPublisher(sns, topics), aws_settings, internal_key)


def user() -> str:
    return f"user-{uuid.uuid4().hex[:8]}"


def symbol() -> str:
    return f"Z{uuid.uuid4().hex[:6].upper()}"


async def alert_events(app: Any, alert_id: str) -> list[str]:
    envelopes = await app.state.components.store.read(f"Alert#{alert_id}")
    return [CATALOG.decode(e).envelope.event_type.name for e in envelopes]


async def wait_until(check: Any, what: str) -> Any:
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        found = await check()
        if found:
            return found
        assert time.monotonic() < deadline, f"never: {what}"
        await asyncio.sleep(0.1)


def analysis_done(owner: str) -> Envelope:
    """AnalysisCompleted as chat publishes it; its subject is the analysis id."""
    analysis_id = f"ana_{uuid.uuid4().hex}"
    return CATALOG.new_event(
        AnalysisCompleted(
            analysis_id=analysis_id,
            owner=owner,
            symbols=["AAPL"],
            summary="AAPL at 430.00: return 12.00% over 1y.",
            model="marketscope-offline",
            tool_calls=5,
            prompt_tokens=100,
            completion_tokens=50,
            completed_at=datetime.now(UTC),
            title="Stock analysis: AAPL",
            link=f"/api/v1/analyses/{analysis_id}",
        ),
        subject=analysis_id,
    )
