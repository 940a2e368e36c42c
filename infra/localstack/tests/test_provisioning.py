"""Provisioning is complete: every resource of the spec, checked through the AWS API."""

from __future__ import annotations

import json
from typing import Any

import pytest

from marketscope_events.catalog import CATALOG, queue_name
from marketscope_infra.apply import Clients, StepResult
from marketscope_platform.topology import OPS_TOPIC, SECRET_NAME, SERVICES

from .conftest import of_kind

pytestmark = pytest.mark.integration


def test_the_first_run_reports_every_resource(
    spec: dict[str, Any], first_run: list[StepResult]
) -> None:
    assert [(r.kind, r.name) for r in first_run] == [
        (r["kind"], r["name"]) for r in spec["resources"]
    ]
    for result in first_run:
        assert result.line.split()[0] in ("created", "exists"), result.line


def test_tables_have_ttl_and_no_stream(clients: Clients, resolved: list[Any]) -> None:
    dynamodb = clients.client("dynamodb")
    for table in of_kind(resolved, "table"):
        description = dynamodb.describe_table(TableName=table["name"])["Table"]
        assert description["TableStatus"] == "ACTIVE"
        assert {index["IndexName"] for index in description["GlobalSecondaryIndexes"]} == {
            "streams",
            "outbox",
        }
        ttl = dynamodb.describe_time_to_live(TableName=table["name"])["TimeToLiveDescription"]
        assert ttl["TimeToLiveStatus"] == "ENABLED"
        assert ttl["AttributeName"] == "expires_at"
        stream = description.get("StreamSpecification", {})
        assert not stream.get("StreamEnabled"), table["name"]


def test_documents_bucket_is_versioned(clients: Clients, resolved: list[Any]) -> None:
    s3 = clients.client("s3")
    assert s3.get_bucket_versioning(Bucket="marketscope-documents")["Status"] == "Enabled"


def test_a_topic_per_catalog_event_and_the_ops_topic(clients: Clients, resolved: list[Any]) -> None:
    sns = clients.client("sns")
    arns = {
        topic["TopicArn"]
        for page in sns.get_paginator("list_topics").paginate()
        for topic in page["Topics"]
    }
    for spec in CATALOG.specs.values():
        assert any(arn.endswith(f":{spec.topic}") for arn in arns), spec.topic
    assert any(arn.endswith(f":{OPS_TOPIC}") for arn in arns)


def test_queues_redrive_to_their_dlq_and_admit_their_topics(
    clients: Clients, resolved: list[Any]
) -> None:
    sqs = clients.client("sqs")
    for queue in of_kind(resolved, "queue"):
        url = sqs.get_queue_url(QueueName=queue["name"])["QueueUrl"]
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        if "redrive_policy" not in queue:
            assert queue["name"].endswith("-dlq")
            continue
        redrive = json.loads(attributes["RedrivePolicy"])
        assert int(redrive["maxReceiveCount"]) == 3
        assert redrive["deadLetterTargetArn"].endswith(f":{queue['name']}-dlq")
        policy = json.loads(attributes["Policy"])
        sources = {
            arn
            for statement in policy["Statement"]
            for arn in statement["Condition"]["ArnEquals"]["aws:SourceArn"]
        }
        expected = {
            arn
            for statement in queue["policy"]["Statement"]
            for arn in statement["Condition"]["ArnEquals"]["aws:SourceArn"]
        }
        assert sources == expected, queue["name"]
    dlq = sqs.get_queue_url(QueueName="marketscope-gateway-dlq")["QueueUrl"]
    assert dlq.endswith("marketscope-gateway-dlq")


def test_every_catalog_subscription_exists_with_raw_delivery(
    clients: Clients, resolved: list[Any]
) -> None:
    sns = clients.client("sns")
    expected = {
        (spec.topic, queue_name(service))
        for spec in CATALOG.specs.values()
        for service in spec.subscribers
        if not SERVICES[service].per_instance_queue
    }
    for topic, queue in expected:
        topic_arn = next(
            s["topic_arn"] for s in of_kind(resolved, "subscription") if s["name"].startswith(topic)
        )
        found = [
            s
            for page in sns.get_paginator("list_subscriptions_by_topic").paginate(
                TopicArn=topic_arn
            )
            for s in page["Subscriptions"]
            if s["Protocol"] == "sqs" and s["Endpoint"].endswith(f":{queue}")
        ]
        assert len(found) == 1, (topic, queue)
        attributes = sns.get_subscription_attributes(SubscriptionArn=found[0]["SubscriptionArn"])
        assert attributes["Attributes"]["RawMessageDelivery"] == "true"


def test_log_groups_keep_14_days(clients: Clients, resolved: list[Any]) -> None:
    logs = clients.client("logs")
    groups = {
        group["logGroupName"]: group
        for group in logs.describe_log_groups(logGroupNamePrefix="/marketscope/")["logGroups"]
    }
    for service in SERVICES:
        assert groups[f"/marketscope/{service}"]["retentionInDays"] == 14


def test_the_secret_holds_placeholders_and_a_signing_key(
    clients: Clients, resolved: list[Any]
) -> None:
    value = json.loads(
        clients.client("secretsmanager").get_secret_value(SecretId=SECRET_NAME)["SecretString"]
    )
    assert value["openai_api_key"] == ""
    assert len(value["jwt_signing_key"]) >= 32


def test_dashboard_and_alarms(clients: Clients, resolved: list[Any]) -> None:
    cloudwatch = clients.client("cloudwatch")
    body = json.loads(cloudwatch.get_dashboard(DashboardName="MarketScope")["DashboardBody"])
    titles = {widget["properties"]["title"] for widget in body["widgets"]}
    assert {"APILatency p50", "APILatency p95", "APILatency p99", "DLQDepth Maximum"} <= titles
    ops_arn = next(t["arn"] for t in of_kind(resolved, "topic") if t["name"] == OPS_TOPIC)
    names = [alarm["name"] for alarm in of_kind(resolved, "alarm")]
    described = {
        alarm["AlarmName"]: alarm
        for start in range(0, len(names), 100)
        for alarm in cloudwatch.describe_alarms(AlarmNames=names[start : start + 100])[
            "MetricAlarms"
        ]
    }
    assert set(described) == set(names)
    for alarm in described.values():
        assert alarm["AlarmActions"] == [ops_arn]
    latency = described["marketscope-chat-api-latency-p95"]
    assert (latency["ExtendedStatistic"], latency["Threshold"]) == ("p95", 2000.0)
    dlq = described["marketscope-notifier-dlq-depth"]
    assert (dlq["Namespace"], dlq["MetricName"]) == (
        "AWS/SQS",
        "ApproximateNumberOfMessagesVisible",
    )


def test_the_scheduled_refresh_rule_targets_market_data(
    clients: Clients, resolved: list[Any]
) -> None:
    events = clients.client("events")
    rule = events.describe_rule(Name="marketscope-scheduled-quote-refresh")
    assert rule["ScheduleExpression"] == "cron(30 16 ? * MON-FRI *)"
    assert rule["State"] == "ENABLED"
    targets = events.list_targets_by_rule(Rule="marketscope-scheduled-quote-refresh")["Targets"]
    assert [target["Arn"].rsplit(":", 1)[1] for target in targets] == ["marketscope-market-data"]
