"""CloudWatch Logs groups (retention), metric alarms and the dashboard. Alarm and
dashboard puts replace the whole definition, so drift is fixed by putting it again."""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError

from marketscope_infra.appliers.context import (
    CREATED,
    Clients,
    Outcome,
    Resource,
    canonical,
    drifted,
    error_code,
    found,
)


def apply_log_group(clients: Clients, resource: Resource) -> Outcome:
    logs = clients.client("logs")
    name = resource["name"]
    group = _log_group(logs, name)
    if group is None:
        logs.create_log_group(logGroupName=name)
    retention = resource["retention_in_days"]
    changes: list[str] = []
    if group is None or group.get("retentionInDays") != retention:
        logs.put_retention_policy(logGroupName=name, retentionInDays=retention)
        changes.append("retentionInDays")
    return CREATED if group is None else found(changes)


def _log_group(logs: Any, name: str) -> dict[str, Any] | None:
    for page in logs.get_paginator("describe_log_groups").paginate(logGroupNamePrefix=name):
        for group in page["logGroups"]:
            if group["logGroupName"] == name:
                return dict(group)
    return None


def apply_alarm(clients: Clients, resource: Resource) -> Outcome:
    cloudwatch = clients.client("cloudwatch")
    definition: dict[str, Any] = resource["definition"]
    current = cloudwatch.describe_alarms(
        AlarmNames=[definition["AlarmName"]], AlarmTypes=["MetricAlarm"]
    )["MetricAlarms"]
    changes = drifted(definition, current[0]) if current else []
    if not current or changes:
        cloudwatch.put_metric_alarm(**definition)
    return found(changes) if current else CREATED


def apply_dashboard(clients: Clients, resource: Resource) -> Outcome:
    cloudwatch = clients.client("cloudwatch")
    body = resource["body"]
    try:
        current = cloudwatch.get_dashboard(DashboardName=resource["name"])["DashboardBody"]
    except ClientError as exc:
        if error_code(exc) not in ("ResourceNotFound", "ResourceNotFoundException"):
            raise
        current = None
    unchanged = current is not None and canonical(current) == canonical(body)
    if not unchanged:
        cloudwatch.put_dashboard(DashboardName=resource["name"], DashboardBody=json.dumps(body))
    if current is None:
        return CREATED
    return found([] if unchanged else ["DashboardBody"])
