"""SNS topics, SQS queues (attributes, redrive, policy) and topic-to-queue subscriptions."""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError

from marketscope_infra.appliers.context import (
    CREATED,
    Clients,
    Outcome,
    Resource,
    drifted,
    error_code,
    found,
)

MISSING_QUEUE_CODES = ("AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist")
# What SNS reports for an attribute nobody set.
SUBSCRIPTION_DEFAULTS = {"RawMessageDelivery": "false"}


def apply_topic(clients: Clients, resource: Resource) -> Outcome:
    sns = clients.client("sns")
    try:
        sns.get_topic_attributes(TopicArn=resource["arn"])
        return found()
    except ClientError as exc:
        if error_code(exc) != "NotFound":
            raise
    sns.create_topic(Name=resource["name"])
    return CREATED


def queue_attributes(resource: Resource) -> dict[str, str]:
    """SQS takes every attribute as a string; policies are JSON documents in strings."""
    attributes = dict(resource.get("attributes", {}))
    if "redrive_policy" in resource:
        attributes["RedrivePolicy"] = json.dumps(resource["redrive_policy"])
    if "policy" in resource:
        attributes["Policy"] = json.dumps(resource["policy"])
    return attributes


def apply_queue(clients: Clients, resource: Resource) -> Outcome:
    sqs = clients.client("sqs")
    desired = queue_attributes(resource)
    url = _queue_url(sqs, resource["name"])
    if url is None:
        sqs.create_queue(QueueName=resource["name"], Attributes=desired)
        return CREATED
    current = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    changes = drifted(desired, current)
    if changes:
        sqs.set_queue_attributes(QueueUrl=url, Attributes={key: desired[key] for key in changes})
    return found(changes)


def _queue_url(sqs: Any, name: str) -> str | None:
    try:
        return str(sqs.get_queue_url(QueueName=name)["QueueUrl"])
    except ClientError as exc:
        if error_code(exc) in MISSING_QUEUE_CODES:
            return None
        raise


def apply_subscription(clients: Clients, resource: Resource) -> Outcome:
    sns = clients.client("sns")
    desired: dict[str, str] = resource["attributes"]
    arn = _find_subscription(sns, resource["topic_arn"], resource["protocol"], resource["endpoint"])
    if arn is None:
        sns.subscribe(
            TopicArn=resource["topic_arn"],
            Protocol=resource["protocol"],
            Endpoint=resource["endpoint"],
            Attributes=desired,
            ReturnSubscriptionArn=True,
        )
        return CREATED
    current = {
        **SUBSCRIPTION_DEFAULTS,
        **sns.get_subscription_attributes(SubscriptionArn=arn)["Attributes"],
    }
    changes = drifted(desired, current)
    for key in changes:
        sns.set_subscription_attributes(
            SubscriptionArn=arn, AttributeName=key, AttributeValue=desired[key]
        )
    return found(changes)


def _find_subscription(sns: Any, topic_arn: str, protocol: str, endpoint: str) -> str | None:
    pages = sns.get_paginator("list_subscriptions_by_topic").paginate(TopicArn=topic_arn)
    for page in pages:
        for subscription in page["Subscriptions"]:
            if subscription["Protocol"] == protocol and subscription["Endpoint"] == endpoint:
                return str(subscription["SubscriptionArn"])
    return None
