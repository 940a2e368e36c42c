"""The spec follows the catalog and the topology, and the committed copy is current."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from marketscope_events.catalog import CATALOG, dlq_name, queue_name
from marketscope_infra.apply import APPLIERS
from marketscope_infra.definitions.metrics import METRICS
from marketscope_infra.definitions.model import queue_arn, rule_arn, topic_arn
from marketscope_infra.spec import RESOURCES_FILE, build_spec
from marketscope_platform.topology import OPS_TOPIC, SERVICES, USER_NOTIFICATIONS_TOPIC

SCHEDULED_RULE = "marketscope-scheduled-quote-refresh"


@pytest.fixture(scope="module")
def resources() -> list[dict[str, Any]]:
    return list(build_spec()["resources"])


def named(resources: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {r["name"]: r for r in resources if r["kind"] == kind}


def run_spec_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "marketscope_infra.spec", *args],
        capture_output=True,
        text=True,
        check=False,
    )


def test_the_committed_resources_json_is_fresh() -> None:
    result = run_spec_cli("--check")
    assert result.returncode == 0, result.stderr


def test_check_fails_on_a_stale_file(tmp_path: Path) -> None:
    stale = tmp_path / "resources.json"
    stale.write_text(RESOURCES_FILE.read_text().replace("expires_at", "expiry"))
    result = run_spec_cli("--check", "--path", str(stale))
    assert result.returncode == 1
    assert "stale" in result.stderr


def test_write_then_check_round_trips(tmp_path: Path) -> None:
    target = tmp_path / "resources.json"
    assert run_spec_cli("--write", "--path", str(target)).returncode == 0
    assert run_spec_cli("--check", "--path", str(target)).returncode == 0
    assert json.loads(target.read_text()) == build_spec()


def test_every_kind_has_an_applier_and_names_are_unique(resources: list[dict[str, Any]]) -> None:
    assert {r["kind"] for r in resources} <= set(APPLIERS)
    duplicates = [
        key for key, n in Counter((r["kind"], r["name"]) for r in resources).items() if n > 1
    ]
    assert duplicates == []


def test_one_topic_per_catalog_event_plus_ops_and_user_notifications(
    resources: list[dict[str, Any]],
) -> None:
    assert set(named(resources, "topic")) == {spec.topic for spec in CATALOG.specs.values()} | {
        OPS_TOPIC,
        USER_NOTIFICATIONS_TOPIC,
    }


def test_a_table_per_service_with_ttl_and_no_stream(resources: list[dict[str, Any]]) -> None:
    tables = named(resources, "table")
    assert set(tables) == {info.table for info in SERVICES.values()}
    for name, table in tables.items():
        assert table["ttl_attribute"] == "expires_at"
        assert table["definition"].get("StreamSpecification") is None, name


def test_queues_admit_exactly_the_topics_their_service_consumes(
    resources: list[dict[str, Any]],
) -> None:
    queues = named(resources, "queue")
    for service in ("chat", "rag", "notifier"):
        expected = {topic_arn(spec.topic) for spec in CATALOG.subscriptions_of(service)}
        if service == "notifier":
            expected.add(topic_arn(OPS_TOPIC))
        queue = queues[queue_name(service)]
        [statement] = queue["policy"]["Statement"]
        assert statement["Principal"] == {"Service": "sns.amazonaws.com"}
        assert statement["Resource"] == queue_arn(queue_name(service))
        assert set(statement["Condition"]["ArnEquals"]["aws:SourceArn"]) == expected
        assert queue["redrive_policy"] == {
            "deadLetterTargetArn": queue_arn(dlq_name(service)),
            "maxReceiveCount": 3,
        }
        assert dlq_name(service) in queues


def test_market_data_queue_admits_only_the_scheduled_rule(resources: list[dict[str, Any]]) -> None:
    queue = named(resources, "queue")["marketscope-market-data"]
    [statement] = queue["policy"]["Statement"]
    assert statement["Principal"] == {"Service": "events.amazonaws.com"}
    assert statement["Condition"]["ArnEquals"]["aws:SourceArn"] == [rule_arn(SCHEDULED_RULE)]
    rule = named(resources, "rule")[SCHEDULED_RULE]
    assert rule["definition"]["ScheduleExpression"] == "cron(30 16 ? * MON-FRI *)"
    assert rule["targets"] == [
        {"Id": "marketscope-market-data", "Arn": queue_arn("marketscope-market-data")}
    ]


def test_gateway_gets_only_its_shared_dlq(resources: list[dict[str, Any]]) -> None:
    queues = named(resources, "queue")
    assert "marketscope-gateway-dlq" in queues
    assert "marketscope-gateway" not in queues
    assert not any(r["name"].endswith("->marketscope-gateway") for r in resources)


def test_subscriptions_are_the_catalog_pairs_delivered_raw(resources: list[dict[str, Any]]) -> None:
    subscriptions = named(resources, "subscription")
    expected = {
        f"{spec.topic}->{queue_name(service)}"
        for spec in CATALOG.specs.values()
        for service in spec.subscribers
        if not SERVICES[service].per_instance_queue
    }
    ops = f"{OPS_TOPIC}->marketscope-notifier"
    assert set(subscriptions) == expected | {ops}
    for name in expected:
        assert subscriptions[name]["attributes"] == {"RawMessageDelivery": "true"}
    # Alarm messages keep the SNS wrapper: its TopicArn marks them as ops alarms.
    assert subscriptions[ops]["attributes"] == {"RawMessageDelivery": "false"}


def test_alarms_notify_the_ops_topic(resources: list[dict[str, Any]]) -> None:
    alarms = named(resources, "alarm")
    for alarm in alarms.values():
        assert alarm["definition"]["AlarmActions"] == [topic_arn(OPS_TOPIC)]
    for service in SERVICES:
        latency = alarms[f"marketscope-{service}-api-latency-p95"]["definition"]
        assert latency["ExtendedStatistic"] == "p95"
        assert latency["Threshold"] == 2000
        assert latency["Dimensions"] == [{"Name": "Service", "Value": service}]
        assert alarms[f"marketscope-{service}-error-rate"]["definition"]["Statistic"] == "Sum"
    watched_queues = {
        alarm["definition"]["Dimensions"][0]["Value"]
        for alarm in alarms.values()
        if alarm["definition"]["Namespace"] == "AWS/SQS"
    }
    assert watched_queues == {name for name in named(resources, "queue") if name.endswith("-dlq")}
    assert f"{SCHEDULED_RULE}-failures" in alarms


def test_dashboard_charts_every_metric_by_service(resources: list[dict[str, Any]]) -> None:
    body = named(resources, "dashboard")["MarketScope"]["body"]
    charted = {
        (line[0], line[1], line[3])
        for widget in body["widgets"]
        if widget["type"] == "metric"
        for line in widget["properties"]["metrics"]
    }
    for view in METRICS:
        for service in SERVICES:
            assert ("MarketScope", view.name, service) in charted
    latency_stats = {
        widget["properties"]["stat"]
        for widget in body["widgets"]
        if widget["properties"].get("title", "").startswith("APILatency")
    }
    assert latency_stats == {"p50", "p95", "p99"}
