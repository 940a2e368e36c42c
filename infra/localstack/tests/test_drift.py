"""Drift that is cheap to fix is put back, and said so; nothing is deleted. Uses its own
uniquely named resources, so the shared provisioned ones stay untouched."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from marketscope_infra.apply import Clients, apply

pytestmark = pytest.mark.integration

OPS = "arn:${AWS::Partition}:sns:${AWS::Region}:${AWS::AccountId}:marketscope-ops-alerts"


@pytest.fixture
def drift_spec(clients: Clients, first_run: object) -> Iterator[dict[str, Any]]:
    name = f"test-drift-{uuid.uuid4().hex[:10]}"
    dlq_arn = f"arn:${{AWS::Partition}}:sqs:${{AWS::Region}}:${{AWS::AccountId}}:{name}-dlq"
    spec = {
        "format": 1,
        "resources": [
            {"kind": "queue", "name": f"{name}-dlq", "attributes": {}},
            {
                "kind": "queue",
                "name": name,
                "attributes": {"VisibilityTimeout": "30"},
                "redrive_policy": {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 3},
            },
            {"kind": "log-group", "name": f"/{name}", "retention_in_days": 14},
            {
                "kind": "alarm",
                "name": name,
                "definition": {
                    "AlarmName": name,
                    "AlarmActions": [OPS],
                    "Namespace": "MarketScope",
                    "MetricName": "APILatency",
                    "Dimensions": [{"Name": "Service", "Value": name}],
                    "ExtendedStatistic": "p95",
                    "Period": 60,
                    "EvaluationPeriods": 5,
                    "Threshold": 2000.0,
                    "ComparisonOperator": "GreaterThanThreshold",
                },
            },
        ],
    }
    yield spec
    sqs = clients.client("sqs")
    for queue in (name, f"{name}-dlq"):
        sqs.delete_queue(QueueUrl=sqs.get_queue_url(QueueName=queue)["QueueUrl"])
    clients.client("logs").delete_log_group(logGroupName=f"/{name}")
    clients.client("cloudwatch").delete_alarms(AlarmNames=[name])


def test_drifted_attributes_are_put_back(clients: Clients, drift_spec: dict[str, Any]) -> None:
    name = drift_spec["resources"][1]["name"]
    assert all(r.outcome.created for r in apply(drift_spec, clients))
    sqs, cloudwatch = clients.client("sqs"), clients.client("cloudwatch")
    url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"VisibilityTimeout": "99"})
    clients.client("logs").put_retention_policy(logGroupName=f"/{name}", retentionInDays=1)
    alarm = {**drift_spec["resources"][3]["definition"], "Threshold": 5000.0}
    cloudwatch.put_metric_alarm(**{**alarm, "AlarmActions": []})

    lines = [result.line for result in apply(drift_spec, clients)]

    assert lines == [
        f"exists  queue {name}-dlq",
        f"exists  queue {name} (updated VisibilityTimeout)",
        f"exists  log-group /{name} (updated retentionInDays)",
        f"exists  alarm {name} (updated AlarmActions, Threshold)",
    ]
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attributes["VisibilityTimeout"] == "30"
    assert int(json.loads(attributes["RedrivePolicy"])["maxReceiveCount"]) == 3
    [described] = cloudwatch.describe_alarms(AlarmNames=[name])["MetricAlarms"]
    assert described["Threshold"] == 2000.0
    assert described["AlarmActions"][0].endswith(":marketscope-ops-alerts")
    assert [result.line for result in apply(drift_spec, clients)] == [
        line.split(" (updated")[0] for line in lines
    ]
