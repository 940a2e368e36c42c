"""A second run changes nothing. It runs the way LocalStack's ready.d hook runs it: the
file by path, in a Python where none of the workspace's other packages can be imported."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from marketscope_infra import apply as apply_module
from marketscope_infra.apply import Clients, StepResult, apply
from marketscope_platform.topology import SECRET_NAME

from .conftest import of_kind

pytestmark = pytest.mark.integration

APPLY_SCRIPT = Path(apply_module.__file__)
HOOK = Path(__file__).resolve().parents[1] / "init" / "ready.d" / "provision.sh"
NOT_IN_LOCALSTACK = (
    "marketscope_events",
    "marketscope_emulator",
    "pydantic",
    "pydantic_settings",
    "aiobotocore",
    "httpx",
    "moto",
)
RUN_BY_PATH_WITHOUT_WORKSPACE = """
import importlib.abc, runpy, sys
blocked = set(sys.argv[1].split(","))
class NotInLocalStack(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in blocked:
            raise ModuleNotFoundError(f"{name} is not in LocalStack's Python")
        return None
sys.meta_path.insert(0, NotInLocalStack())
sys.argv = sys.argv[2:]
runpy.run_path(sys.argv[0], run_name="__main__")
"""


def run_apply_script(*args: str) -> subprocess.CompletedProcess[str]:
    # No AWS_* variables: the script must fall back to the emulator's dummy credentials.
    env = {key: value for key, value in os.environ.items() if not key.startswith("AWS_")}
    return subprocess.run(
        [
            sys.executable,
            "-c",
            RUN_BY_PATH_WITHOUT_WORKSPACE,
            ",".join(NOT_IN_LOCALSTACK),
            str(APPLY_SCRIPT),
            *args,
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )


def inventory(clients: Clients, resolved: list[Any]) -> dict[str, Any]:
    """Everything provisioning could have duplicated, counted through the API."""
    sqs, sns = clients.client("sqs"), clients.client("sns")
    cloudwatch, events = clients.client("cloudwatch"), clients.client("events")
    secretsmanager = clients.client("secretsmanager")
    subscriptions = sorted(
        (topic["name"], subscription["Endpoint"])
        for topic in of_kind(resolved, "topic")
        for page in sns.get_paginator("list_subscriptions_by_topic").paginate(TopicArn=topic["arn"])
        for subscription in page["Subscriptions"]
    )
    return {
        "tables": sorted(
            name
            for name in clients.client("dynamodb").list_tables(Limit=100)["TableNames"]
            if name.startswith("marketscope-")
        ),
        "queues": sorted(sqs.list_queues(QueueNamePrefix="marketscope-").get("QueueUrls", [])),
        "topics": sorted(
            topic["TopicArn"]
            for page in sns.get_paginator("list_topics").paginate()
            for topic in page["Topics"]
            if ":marketscope-" in topic["TopicArn"]
        ),
        "subscriptions": subscriptions,
        "log_groups": sorted(
            group["logGroupName"]
            for group in clients.client("logs").describe_log_groups(
                logGroupNamePrefix="/marketscope/"
            )["logGroups"]
        ),
        "alarms": sorted(
            alarm["AlarmName"]
            for page in cloudwatch.get_paginator("describe_alarms").paginate(
                AlarmNamePrefix="marketscope-"
            )
            for alarm in page["MetricAlarms"]
        ),
        "dashboards": [
            entry["DashboardName"]
            for entry in cloudwatch.list_dashboards(DashboardNamePrefix="MarketScope")[
                "DashboardEntries"
            ]
        ],
        "secret_versions": sorted(
            version["VersionId"]
            for version in secretsmanager.list_secret_version_ids(SecretId=SECRET_NAME)["Versions"]
        ),
        "secret_value": secretsmanager.get_secret_value(SecretId=SECRET_NAME)["SecretString"],
        "rules": sorted(
            rule["Name"] for rule in events.list_rules(NamePrefix="marketscope-")["Rules"]
        ),
        "targets": [
            target["Arn"]
            for target in events.list_targets_by_rule(Rule="marketscope-scheduled-quote-refresh")[
                "Targets"
            ]
        ],
    }


def test_a_second_run_by_path_reports_only_existing_resources_and_changes_nothing(
    aws_endpoint: str, spec: dict[str, Any], clients: Clients, resolved: list[Any]
) -> None:
    before = inventory(clients, resolved)

    result = run_apply_script("--endpoint", aws_endpoint, "--region", "us-east-1")

    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == len(spec["resources"])
    assert [line for line in lines if not line.startswith("exists  ")] == []
    assert [line for line in lines if "(updated" in line] == []
    assert inventory(clients, resolved) == before


def test_progress_is_reported_once_per_resource(
    spec: dict[str, Any], clients: Clients, first_run: list[StepResult]
) -> None:
    steps: list[tuple[int, int, str]] = []

    results = apply(
        spec, clients, on_step=lambda done, total, line: steps.append((done, total, line))
    )

    total = len(spec["resources"])
    assert [(done, n) for done, n, _ in steps] == [(i, total) for i in range(1, total + 1)]
    assert [line for _, _, line in steps] == [result.line for result in results]
    assert all(line.startswith("exists  ") for _, _, line in steps)


def test_the_ready_hook_runs_apply_py_on_the_mounted_spec() -> None:
    """docker-compose mounts ./infra/localstack at /opt/marketscope/infra."""
    assert os.access(HOOK, os.X_OK)
    mount = Path("/opt/marketscope/infra")
    local = HOOK.parents[2]
    paths = [Path(path) for path in re.findall(rf"{mount}/\S+", HOOK.read_text())]
    assert {path.name for path in paths} == {"apply.py", "resources.json"}
    for path in paths:
        assert (local / path.relative_to(mount)).is_file(), path


def test_secret_value_survives_reapplying(clients: Clients, resolved: list[Any]) -> None:
    secretsmanager = clients.client("secretsmanager")
    before = secretsmanager.get_secret_value(SecretId=SECRET_NAME)["SecretString"]
    apply({"format": 1, "resources": of_kind(resolved, "secret")}, clients)
    assert secretsmanager.get_secret_value(SecretId=SECRET_NAME)["SecretString"] == before
    assert json.loads(before)["jwt_signing_key"]
