"""The scheduled refresh end to end on the emulator: the rule's Scheduled Event put on the
bus -> the rule -> the market-data queue -> the handler (via the app's consumer) ->
QuoteUpdated on SNS -> a subscribed queue. Non-refresh messages reach the DLQ; the Lambda
entry point runs unchanged."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import pytest

from marketscope_events import ConsumerSettings, DynamoDBIdempotencyStore, Envelope, SqsConsumer
from marketscope_events.publishing import TopicDirectory
from marketscope_events.subscriptions import remove_subscription, subscribe_service
from marketscope_market_data.refresh.embedded import EmbeddedScheduler
from marketscope_market_data.refresh.lambda_function import handler
from marketscope_market_data.refresh.schedule import CronSchedule
from marketscope_market_data.settings import REFRESH_RULE
from marketscope_market_data.store import stream_id

from .conftest import AppClient
from .fakes import sqs_event, unique

pytestmark = pytest.mark.integration
WATCHED = ["AAPL", "GOOG", "IBM", "MSFT"]


async def drain(
    sqs: Any, url: str, *, seconds: float, want: int, keep: Callable[[str], bool] = bool
) -> list[str]:
    """Bodies received (those ``keep`` accepts) until ``want`` of them or ``seconds``."""
    bodies: list[str] = []
    deadline = asyncio.get_running_loop().time() + seconds
    while len(bodies) < want and asyncio.get_running_loop().time() < deadline:
        response = await sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1
        )
        bodies.extend(m["Body"] for m in response.get("Messages", []) if keep(m["Body"]))
    return bodies


async def test_scheduled_event_flows_to_quote_updated_on_sns(
    aws, provisioned, app_client: AppClient
):
    sns, sqs, events = await aws.client("sns"), await aws.client("sqs"), await aws.client("events")
    topics = await TopicDirectory.from_sts(await aws.client("sts"), "us-east-1")
    name = unique("test-notifier")
    subscription = await subscribe_service(
        sns, sqs, topics, "notifier", queue_name=name, dlq_name=f"{name}-dlq"
    )
    try:
        async with app_client(embedded_scheduler=True, poll_wait_seconds=1) as client:
            components = client.app.state.components
            components.replay.clock.advance(3)  # a trading day no other test has recorded
            before = {s: await components.store.current_version(stream_id(s)) for s in WATCHED}
            rule = await events.describe_rule(Name=REFRESH_RULE)
            scheduler = EmbeddedScheduler(
                events,
                rule_name=REFRESH_RULE,
                bus="default",
                schedule=CronSchedule.parse("cron(30 16 ? * MON-FRI *)"),
            )
            await scheduler.fire(rule["Arn"])  # what the scheduler does at the cron time
            metrics = client.app.state.metrics
            for _ in range(150):  # the handler records StockUpdates when it is done
                if metrics.percentiles("StockUpdates", unit="Count"):
                    break
                await asyncio.sleep(0.1)
            after = {s: await components.store.current_version(stream_id(s)) for s in WATCHED}
            appended = sum(after[s] - before[s] for s in WATCHED)
            streams = {stream_id(s) for s in WATCHED}
            bodies = await drain(
                sqs,
                subscription.queue.url,
                seconds=20,
                want=appended,
                keep=lambda body: Envelope.from_json(body).subject in streams,
            )
    finally:
        await remove_subscription(sns, sqs, subscription, delete_dlq=True)

    assert appended >= 1
    quotes = [Envelope.from_json(body) for body in bodies]
    assert len(quotes) >= appended
    assert all(q.type == "marketscope.market-data.QuoteUpdated.v2" for q in quotes)
    assert all(q.data["provider"] == "replay" for q in quotes)


async def test_messages_that_are_not_scheduled_refreshes_reach_the_dlq(
    aws, provisioned, app_client: AppClient
):
    sqs = await aws.client("sqs")
    url = (await sqs.get_queue_url(QueueName="marketscope-market-data"))["QueueUrl"]
    dlq = (await sqs.get_queue_url(QueueName="marketscope-market-data-dlq"))["QueueUrl"]
    body = json.dumps({"detail-type": "Something Else", "marker": unique("poison")})
    await sqs.send_message(QueueUrl=url, MessageBody=body)
    async with app_client() as client:
        # The app's consumer as run_consumer builds it, polled by hand.
        consumer = SqsConsumer(
            sqs,
            ConsumerSettings("market-data", url, wait_time_seconds=1),
            DynamoDBIdempotencyStore(await aws.client("dynamodb"), "marketscope-market-data"),
        )
        client.app.state.components.handlers.register(consumer)
        for _ in range(6):
            await consumer.poll_once()
    assert await drain(sqs, dlq, seconds=5, want=1, keep=lambda found: found == body) == [body]


async def test_lambda_entry_point_runs_unchanged(aws_endpoint, provisioned, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", aws_endpoint)
    scheduled = json.dumps(
        {
            "version": "0",
            "id": "1",
            "detail-type": "Scheduled Event",
            "source": "aws.events",
            "time": "2026-01-05T16:30:00Z",
            "region": "us-east-1",
            "resources": [f"arn:aws:events:us-east-1:123456789012:rule/{REFRESH_RULE}"],
            "detail": {},
        }
    )
    messages = [
        {"MessageId": "good", "ReceiptHandle": "r1", "Body": scheduled},
        {"MessageId": "bad", "ReceiptHandle": "r2", "Body": "not json"},
    ]
    event = sqs_event(
        messages, "arn:aws:sqs:us-east-1:123456789012:marketscope-market-data", "us-east-1"
    )
    result = await asyncio.to_thread(handler, event, None)
    assert result == {"batchItemFailures": [{"itemIdentifier": "bad"}]}
