"""Raw routes against real queues: EventBridge scheduled events, CloudWatch alarms raw or
wrapped by SNS, and raw bodies nobody routes, which end in the DLQ like poison events."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections import Counter
from typing import Any

import pytest

from marketscope_events import MessageReport, Outcome, RawMessage, RawRoute, TerminalHandlerError
from marketscope_events.consuming import unwrap_sns
from marketscope_events.subscriptions import ensure_topic, queue_policy
from marketscope_platform import AwsClients

from ..helpers import receive_all, unique
from .consumers import collect_dlq, make_consumer, run_until, send

pytestmark = pytest.mark.integration


def scheduled_event(event_id: str) -> dict[str, Any]:
    """What an EventBridge schedule rule delivers to its SQS target."""
    return {
        "version": "0",
        "id": event_id,
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "000000000000",
        "time": "2024-05-01T16:30:00Z",
        "region": "us-east-1",
        "resources": [
            "arn:aws:events:us-east-1:000000000000:rule/marketscope-scheduled-quote-refresh"
        ],
        "detail": {},
    }


def alarm(name: str) -> dict[str, Any]:
    """What CloudWatch sends to an alarm action topic."""
    return {
        "AlarmName": name,
        "AlarmDescription": None,
        "AWSAccountId": "000000000000",
        "NewStateValue": "ALARM",
        "NewStateReason": "Threshold Crossed: 1 datapoint [3.0] was greater than 0.0",
        "StateChangeTime": "2024-05-01T16:31:00.000+0000",
        "Region": "US East (N. Virginia)",
        "OldStateValue": "OK",
        "Trigger": {"MetricName": "ApproximateNumberOfMessagesVisible", "Threshold": 0.0},
    }


def scheduled_refresh(handled: list[RawMessage]) -> RawRoute:
    async def refresh(message: RawMessage) -> None:
        handled.append(message)

    return RawRoute(
        name="scheduled-refresh",
        matches=lambda m: (
            isinstance(m.body, dict) and m.body.get("detail-type") == "Scheduled Event"
        ),
        handler=refresh,
        idempotency_key=lambda m: str(m.body["id"]),
    )


def is_alarm(message: RawMessage) -> bool:
    body = unwrap_sns(message.body)
    return isinstance(body, dict) and "AlarmName" in body and "NewStateValue" in body


def alarm_key(message: RawMessage) -> str:
    if isinstance(message.body, dict) and message.body.get("Type") == "Notification":
        return str(message.body["MessageId"])
    body = message.body
    return f"{body['AlarmName']}@{body['StateChangeTime']}"


async def test_a_scheduled_event_sent_twice_is_handled_once(
    aws: AwsClients, table: str, queue: Any
) -> None:
    sqs, dynamodb = await aws.client("sqs"), await aws.client("dynamodb")
    source, _ = queue
    event = scheduled_event(str(uuid.uuid4()))
    for _ in range(2):  # EventBridge delivers at least once
        await send(sqs, source, json.dumps(event))
    handled: list[RawMessage] = []
    reports: list[MessageReport] = []
    consumer = make_consumer(sqs, dynamodb, table, source, reports)
    consumer.route_raw(scheduled_refresh(handled))

    await run_until(consumer, lambda: any(r.outcome is Outcome.DUPLICATE for r in reports))

    assert [m.body["id"] for m in handled] == [event["id"]]
    assert handled[0].receive_count >= 1
    assert "SentTimestamp" in handled[0].attributes
    outcomes = Counter(r.outcome for r in reports)
    assert outcomes[Outcome.HANDLED] == 1
    assert outcomes[Outcome.DUPLICATE] == 1
    assert set(outcomes) <= {Outcome.HANDLED, Outcome.DUPLICATE, Outcome.RETRY}
    assert {(r.event_type, r.event_id) for r in reports} == {("raw:scheduled-refresh", event["id"])}
    assert await receive_all(sqs, source.url) == []


async def test_unrouted_and_terminally_failing_raw_messages_reach_the_dlq(
    aws: AwsClients, table: str, queue: Any
) -> None:
    sqs, dynamodb = await aws.client("sqs"), await aws.client("dynamodb")
    source, dlq = queue
    unrouted = json.dumps({"detail-type": "Something Else", "id": "x"})
    refused = json.dumps(scheduled_event(str(uuid.uuid4())))
    for body in (unrouted, refused):
        await send(sqs, source, body)

    async def refuse(message: RawMessage) -> None:
        raise TerminalHandlerError("the schedule names no symbols")

    reports: list[MessageReport] = []
    consumer = make_consumer(sqs, dynamodb, table, source, reports)
    consumer.route_raw(
        RawRoute(
            name="scheduled-refresh",
            matches=lambda m: (
                isinstance(m.body, dict) and m.body.get("detail-type") == "Scheduled Event"
            ),
            handler=refuse,
            idempotency_key=lambda m: str(m.body["id"]),
        )
    )
    dead: list[dict[str, Any]] = []
    watcher = asyncio.create_task(collect_dlq(sqs, dlq, dead, wanted=2))

    await run_until(consumer, lambda: len(dead) == 2, limit_seconds=45)
    await watcher

    assert sorted(m["Body"] for m in dead) == sorted([unrouted, refused])
    by_type: dict[str | None, list[MessageReport]] = {}
    for report in reports:
        by_type.setdefault(report.event_type, []).append(report)
    assert sorted(r.receive_count for r in by_type[None]) == [1, 2, 3]
    assert all((r.reason or "").startswith("MalformedEnvelopeError") for r in by_type[None])
    refusals = by_type["raw:scheduled-refresh"]
    assert sorted(r.receive_count for r in refusals) == [1, 2, 3]
    assert all((r.reason or "").startswith("TerminalHandlerError") for r in refusals)
    assert all(r.outcome is Outcome.REJECTED for r in reports)
    assert await receive_all(sqs, source.url) == []


async def test_cloudwatch_alarms_are_routed_raw_and_wrapped_by_sns(
    aws: AwsClients, table: str, queue: Any
) -> None:
    sqs, sns, dynamodb = [await aws.client(name) for name in ("sqs", "sns", "dynamodb")]
    source, _ = queue
    # Like marketscope-ops-alerts: no raw delivery, so SNS's wrapper reaches the queue.
    topic_arn = await ensure_topic(sns, unique("test-ops-alerts"))
    await sqs.set_queue_attributes(
        QueueUrl=source.url, Attributes={"Policy": queue_policy(source.arn, [topic_arn])}
    )
    subscription = await sns.subscribe(
        TopicArn=topic_arn, Protocol="sqs", Endpoint=source.arn, ReturnSubscriptionArn=True
    )
    await sns.publish(TopicArn=topic_arn, Message=json.dumps(alarm("marketscope-chat-dlq-depth")))
    await send(sqs, source, json.dumps(alarm("marketscope-rag-error-rate")))
    alarms: list[tuple[str, str]] = []

    async def on_alarm(message: RawMessage) -> None:
        body = unwrap_sns(message.body)
        alarms.append((body["AlarmName"], body["NewStateValue"]))

    reports: list[MessageReport] = []
    consumer = make_consumer(sqs, dynamodb, table, source, reports)
    consumer.route_raw(scheduled_refresh([]))
    consumer.route_raw(
        RawRoute(
            name="cloudwatch-alarm", matches=is_alarm, handler=on_alarm, idempotency_key=alarm_key
        )
    )
    try:
        await run_until(consumer, lambda: len(alarms) == 2)
    finally:
        await sns.unsubscribe(SubscriptionArn=subscription["SubscriptionArn"])
        await sns.delete_topic(TopicArn=topic_arn)

    assert sorted(alarms) == [
        ("marketscope-chat-dlq-depth", "ALARM"),
        ("marketscope-rag-error-rate", "ALARM"),
    ]
    assert [(r.outcome, r.event_type) for r in reports] == [
        (Outcome.HANDLED, "raw:cloudwatch-alarm")
    ] * 2
    assert "marketscope-rag-error-rate@2024-05-01T16:31:00.000+0000" in {
        r.event_id for r in reports
    }
