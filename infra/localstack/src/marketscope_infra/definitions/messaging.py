"""SNS topics, SQS queues with their DLQs and policies, and the subscriptions between them.

Everything here follows from the catalog (who consumes which event) and the topology
(which service takes one queue per instance), plus the two feeds the catalog does not
describe: the ops-alerts topic (to the notifier) and the scheduled rules. Events the
catalog keeps stream-only have no topic, so nothing is provisioned for them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from marketscope_events.catalog import Catalog, dlq_name, queue_name
from marketscope_events.subscriptions import (
    DEFAULT_MAX_RECEIVE_COUNT,
    DLQ_RETENTION_SECONDS,
    QUEUE_RETENTION_SECONDS,
    VISIBILITY_TIMEOUT_SECONDS,
)
from marketscope_infra.definitions.model import JsonObject, Resource, queue_arn, rule_arn, topic_arn
from marketscope_infra.definitions.scheduling import rules_for
from marketscope_platform.topology import OPS_TOPIC, USER_NOTIFICATIONS_TOPIC, ServiceInfo

OPS_CONSUMER = "notifier"


@dataclass(frozen=True)
class QueueFeeds:
    """What may send to a service's queue."""

    topics: tuple[str, ...]
    rules: tuple[str, ...]

    def __bool__(self) -> bool:
        return bool(self.topics or self.rules)


def queue_feeds(catalog: Catalog, service: str) -> QueueFeeds:
    topics = sorted(
        topic for spec in catalog.subscriptions_of(service) if (topic := spec.topic) is not None
    )
    if service == OPS_CONSUMER:
        topics.append(OPS_TOPIC)
    return QueueFeeds(topics=tuple(topics), rules=tuple(rule.name for rule in rules_for(service)))


def topics(catalog: Catalog) -> list[Resource]:
    catalog_topics = [
        Resource(
            "topic",
            topic,
            {"arn": topic_arn(topic), "event": spec.name, "producer": spec.producer},
        )
        for spec in catalog
        if (topic := spec.topic) is not None
    ]
    ops_topic = Resource(
        "topic", OPS_TOPIC, {"arn": topic_arn(OPS_TOPIC), "purpose": "CloudWatch alarm actions"}
    )
    user_topic = Resource(
        "topic",
        USER_NOTIFICATIONS_TOPIC,
        {
            "arn": topic_arn(USER_NOTIFICATIONS_TOPIC),
            "purpose": "users' e-mail notifications (subscriptions filter on owner)",
            "producer": "notifier",
        },
    )
    return [*catalog_topics, ops_topic, user_topic]


def queue_policy(queue: str, feeds: QueueFeeds) -> JsonObject:
    """Exactly the topics and rules that feed the queue may send to it."""
    statements: list[JsonObject] = []
    if feeds.topics:
        statements.append(
            _allow_send(
                "AllowMarketScopeTopics",
                "sns.amazonaws.com",
                queue,
                [topic_arn(topic) for topic in feeds.topics],
            )
        )
    if feeds.rules:
        statements.append(
            _allow_send(
                "AllowScheduledRules",
                "events.amazonaws.com",
                queue,
                [rule_arn(rule) for rule in feeds.rules],
            )
        )
    return {"Version": "2012-10-17", "Statement": statements}


def _allow_send(sid: str, principal: str, queue: str, sources: list[str]) -> JsonObject:
    return {
        "Sid": sid,
        "Effect": "Allow",
        "Principal": {"Service": principal},
        "Action": "sqs:SendMessage",
        "Resource": queue_arn(queue),
        "Condition": {"ArnEquals": {"aws:SourceArn": sources}},
    }


def dead_letter_queue(service: str) -> Resource:
    return Resource(
        "queue",
        dlq_name(service),
        {"attributes": {"MessageRetentionPeriod": str(DLQ_RETENTION_SECONDS)}},
    )


def service_queue(service: str, feeds: QueueFeeds) -> Resource:
    name = queue_name(service)
    return Resource(
        "queue",
        name,
        {
            "attributes": {
                "VisibilityTimeout": str(VISIBILITY_TIMEOUT_SECONDS),
                "MessageRetentionPeriod": str(QUEUE_RETENTION_SECONDS),
            },
            "redrive_policy": {
                "deadLetterTargetArn": queue_arn(dlq_name(service)),
                "maxReceiveCount": DEFAULT_MAX_RECEIVE_COUNT,
            },
            "policy": queue_policy(name, feeds),
        },
    )


def consumers(catalog: Catalog, services: Mapping[str, ServiceInfo]) -> list[str]:
    """The services something sends messages to: each has a DLQ."""
    return [service for service in services if queue_feeds(catalog, service)]


def queues(catalog: Catalog, services: Mapping[str, ServiceInfo]) -> list[Resource]:
    """Each DLQ before the queue that redrives to it. A per-instance service gets only its
    shared DLQ: its instances make (and remove) their own queues at runtime."""
    resources: list[Resource] = []
    for service in consumers(catalog, services):
        resources.append(dead_letter_queue(service))
        if not services[service].per_instance_queue:
            resources.append(service_queue(service, queue_feeds(catalog, service)))
    return resources


def subscriptions(catalog: Catalog, services: Mapping[str, ServiceInfo]) -> list[Resource]:
    """Catalog events arrive raw (the body is the envelope). Ops alarms keep SNS's wrapper,
    whose TopicArn tells the notifier it holds a CloudWatch alarm, not a catalog event."""
    resources: list[Resource] = []
    for service, info in services.items():
        if info.per_instance_queue:
            continue
        queue = queue_name(service)
        for topic in queue_feeds(catalog, service).topics:
            raw = topic != OPS_TOPIC
            resources.append(
                Resource(
                    "subscription",
                    f"{topic}->{queue}",
                    {
                        "topic_arn": topic_arn(topic),
                        "protocol": "sqs",
                        "endpoint": queue_arn(queue),
                        "attributes": {"RawMessageDelivery": "true" if raw else "false"},
                    },
                )
            )
    return resources
