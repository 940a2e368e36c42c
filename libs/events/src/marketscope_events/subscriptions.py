"""Queues, DLQs and raw-delivery subscriptions, made idempotently from the catalog.

Provisioning uses these for every service queue; a gateway instance uses them at start to
subscribe its own queue (so each instance sees every event) and at shutdown to remove it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from marketscope_events.catalog import CATALOG, Catalog
from marketscope_events.publishing.topics import TopicDirectory

if TYPE_CHECKING:
    from types_aiobotocore_sns import SNSClient
    from types_aiobotocore_sqs import SQSClient
    from types_aiobotocore_sqs.literals import QueueAttributeNameType

# Provisioning (marketscope_infra) declares the service queues with these same values.
VISIBILITY_TIMEOUT_SECONDS = 30
QUEUE_RETENTION_SECONDS = 4 * 24 * 3600
DLQ_RETENTION_SECONDS = 14 * 24 * 3600
DEFAULT_MAX_RECEIVE_COUNT = 3


@dataclass(frozen=True)
class QueueRef:
    name: str
    url: str
    arn: str


@dataclass
class ServiceSubscription:
    """A queue and the subscriptions that feed it."""

    queue: QueueRef
    dlq: QueueRef
    subscription_arns: list[str] = field(default_factory=list)


async def ensure_topic(sns: SNSClient, name: str) -> str:
    """CreateTopic is idempotent: it returns the existing topic's ARN."""
    response = await sns.create_topic(Name=name)
    return str(response["TopicArn"])


async def ensure_queue(
    sqs: SQSClient,
    name: str,
    *,
    dlq: QueueRef | None = None,
    max_receive_count: int = DEFAULT_MAX_RECEIVE_COUNT,
    visibility_timeout: int = VISIBILITY_TIMEOUT_SECONDS,
    retention_seconds: int = QUEUE_RETENTION_SECONDS,
) -> QueueRef:
    attributes: dict[QueueAttributeNameType, str] = {
        "VisibilityTimeout": str(visibility_timeout),
        "MessageRetentionPeriod": str(retention_seconds),
    }
    if dlq is not None:
        attributes["RedrivePolicy"] = json.dumps(
            {"deadLetterTargetArn": dlq.arn, "maxReceiveCount": str(max_receive_count)}
        )
    try:
        url = (await sqs.create_queue(QueueName=name, Attributes=attributes))["QueueUrl"]
    except sqs.exceptions.QueueNameExists:
        # Same name, other attributes: keep the queue, bring its attributes in line.
        url = (await sqs.get_queue_url(QueueName=name))["QueueUrl"]
        await sqs.set_queue_attributes(QueueUrl=url, Attributes=attributes)
    arn = (await sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"]))["Attributes"][
        "QueueArn"
    ]
    return QueueRef(name=name, url=str(url), arn=str(arn))


TOPICS_STATEMENT_ID = "AllowMarketScopeTopics"


def queue_policy(queue_arn: str, topic_arns: Sequence[str], existing: str | None = None) -> str:
    """The queue's policy with our topics statement put in; other statements (an
    EventBridge rule's, the ops topic's) are kept as they are."""
    policy: dict[str, Any] = (
        json.loads(existing) if existing else {"Version": "2012-10-17", "Statement": []}
    )
    statements: list[dict[str, Any]] = [
        s for s in policy.get("Statement", []) if s.get("Sid") != TOPICS_STATEMENT_ID
    ]
    statements.append(
        {
            "Sid": TOPICS_STATEMENT_ID,
            "Effect": "Allow",
            "Principal": {"Service": "sns.amazonaws.com"},
            "Action": "sqs:SendMessage",
            "Resource": queue_arn,
            "Condition": {"ArnEquals": {"aws:SourceArn": sorted(topic_arns)}},
        }
    )
    policy["Statement"] = statements
    return json.dumps(policy, sort_keys=True)


async def subscribe_queue(sns: SNSClient, topic_arn: str, queue_arn: str) -> str:
    """Raw delivery: the queue receives the envelope itself. Subscribe is idempotent."""
    response = await sns.subscribe(
        TopicArn=topic_arn,
        Protocol="sqs",
        Endpoint=queue_arn,
        Attributes={"RawMessageDelivery": "true"},
        ReturnSubscriptionArn=True,
    )
    return str(response["SubscriptionArn"])


async def subscribe_service(
    sns: SNSClient,
    sqs: SQSClient,
    topics: TopicDirectory,
    service: str,
    *,
    queue_name: str,
    dlq_name: str,
    catalog: Catalog = CATALOG,
    visibility_timeout: int = VISIBILITY_TIMEOUT_SECONDS,
) -> ServiceSubscription:
    """A queue with its DLQ, allowed to receive from and subscribed to every topic the
    catalog says ``service`` consumes."""
    dlq = await ensure_queue(sqs, dlq_name, retention_seconds=DLQ_RETENTION_SECONDS)
    queue = await ensure_queue(sqs, queue_name, dlq=dlq, visibility_timeout=visibility_timeout)
    # Only published events have subscribers, so every one of these has a topic.
    topic_arns = [
        topics.arn(topic)
        for spec in catalog.subscriptions_of(service)
        if (topic := spec.topic) is not None
    ]
    current = await sqs.get_queue_attributes(QueueUrl=queue.url, AttributeNames=["Policy"])
    policy = queue_policy(queue.arn, topic_arns, current.get("Attributes", {}).get("Policy"))
    await sqs.set_queue_attributes(QueueUrl=queue.url, Attributes={"Policy": policy})
    subscription = ServiceSubscription(queue=queue, dlq=dlq)
    for topic_arn in topic_arns:
        subscription.subscription_arns.append(await subscribe_queue(sns, topic_arn, queue.arn))
    return subscription


async def remove_subscription(
    sns: SNSClient, sqs: SQSClient, subscription: ServiceSubscription, *, delete_dlq: bool = False
) -> None:
    """Unsubscribe and delete the queue (a gateway instance's, at shutdown)."""
    for arn in subscription.subscription_arns:
        await sns.unsubscribe(SubscriptionArn=arn)
    await sqs.delete_queue(QueueUrl=subscription.queue.url)
    if delete_dlq:
        await sqs.delete_queue(QueueUrl=subscription.dlq.url)
