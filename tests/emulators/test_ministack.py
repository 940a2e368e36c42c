"""ministack, the alternative AWS emulator (``marketscope up --emulator ministack``), runs
two things moto's server does not (see /work/shared/design.md):

* scheduled EventBridge rules fire: the provisioned quote-refresh rule delivers its
  "Scheduled Event" into the ``marketscope-market-data`` queue;
* CloudWatch alarms are evaluated and run their SNS actions: a breaching datum puts the
  scheduled-refresh-failures alarm into ALARM and its notification reaches the
  ``marketscope-notifier`` queue through the ``marketscope-ops-alerts`` topic.

ministack runs in its own uv tool environment (it pins an older botocore), started on a
free loopback port once for this module and provisioned with marketscope_infra's own
``apply``. Where it cannot be installed or started, every test here is skipped with the
error it gave: never faked. What ministack does not do is listed in README.md here.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psutil
import pytest

from marketscope_emulator import EmulatorProcess, free_port
from marketscope_emulator.process import MINISTACK_REQUIREMENT, server_command
from marketscope_infra.appliers.context import substitute
from marketscope_infra.apply import Clients, StepResult, apply, load_spec
from marketscope_platform.aws import AwsClients, AwsSettings

if TYPE_CHECKING:
    from types_aiobotocore_sqs import SQSClient

pytestmark = pytest.mark.integration

REGION = "us-east-1"
# The first start installs ministack into uv's cache (about 1 s here with a warm PyPI
# connection); leave room for a slow download before calling it unavailable.
START_TIMEOUT = 180.0

REFRESH_RULE = "marketscope-scheduled-quote-refresh"
REFRESH_CRON = "cron(30 16 ? * MON-FRI *)"
MARKET_DATA_QUEUE = "marketscope-market-data"
# Same shape as REFRESH_CRON (day of month '?'), but every minute of every day.
EVERY_MINUTE = "cron(* * ? * * *)"
# ministack sweeps scheduled rules every 10 s: the first sweep notes the rule, a cron then
# fires at the first sweep at or after its next minute, so at most 60 s + 2 sweeps.
FIRE_WITHIN = 85.0

FAILURES_ALARM = "marketscope-scheduled-quote-refresh-failures"
OPS_TOPIC = "marketscope-ops-alerts"
NOTIFIER_QUEUE = "marketscope-notifier"
# ministack evaluates alarms when data is put; AWS evaluates once a minute.
ALARM_WITHIN = 60.0


@dataclass(frozen=True)
class Ministack:
    endpoint: str
    clients: Clients  # boto3, as marketscope_infra uses them
    spec: dict[str, Any]
    provisioned: list[StepResult]

    def resource(self, kind: str, name: str) -> dict[str, Any]:
        """The spec's resource with this account's ARNs filled in."""
        [found] = [r for r in self.spec["resources"] if (r["kind"], r["name"]) == (kind, name)]
        resolved: dict[str, Any] = substitute(found, self.clients.placeholders())
        return resolved


def output_tail(log_file: Path, limit: int = 2000) -> str:
    try:
        text = log_file.read_bytes().decode("utf-8", errors="replace").strip()
    except OSError as exc:
        return f"(no output: {exc})"
    return text[-limit:] if text else "(no output)"


def live_group_members(pgid: int) -> list[str]:
    """Processes of the group that are still running (zombies excluded)."""
    members = []
    for process in psutil.process_iter(["pid", "status", "cmdline"]):
        try:
            if os.getpgid(process.pid) == pgid and process.status() != psutil.STATUS_ZOMBIE:
                members.append(f"{process.pid} {' '.join(process.info['cmdline'] or [])}")
        except (ProcessLookupError, psutil.Error):
            continue
    return members


def port_is_open(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(1.0)
        return sock.connect_ex((host, port)) == 0


@pytest.fixture(scope="module")
def ministack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ministack]:
    """ministack on a free loopback port, provisioned from resources.json; stopped (its
    whole process group) after the module, and checked to be gone."""
    log_file = tmp_path_factory.mktemp("ministack") / "ministack.log"
    emulator = EmulatorProcess(kind="ministack", port=free_port(), log_file=log_file)
    command = " ".join(server_command(emulator.host, emulator.port, "ministack"))
    started = time.monotonic()
    try:
        emulator.start(timeout=START_TIMEOUT)
    except (OSError, RuntimeError) as exc:  # TimeoutError is an OSError
        emulator.stop()
        pytest.skip(
            f"{MINISTACK_REQUIREMENT} could not be installed or started with `{command}` "
            f"(GATEWAY_PORT={emulator.port} BIND_HOST={emulator.host}): "
            f"{type(exc).__name__}: {exc}; its output: {output_tail(log_file)}"
        )
    pgid = emulator.pid
    assert pgid is not None
    print(
        f"\n{MINISTACK_REQUIREMENT} ready at {emulator.endpoint} "
        f"in {time.monotonic() - started:.1f} s (log {log_file})"
    )
    try:
        clients = Clients(emulator.endpoint, REGION)
        spec = load_spec()
        provisioning_started = time.monotonic()
        provisioned = apply(spec, clients)
        print(
            f"provisioned {len(provisioned)} resources in "
            f"{time.monotonic() - provisioning_started:.1f} s"
        )
        yield Ministack(emulator.endpoint, clients, spec, provisioned)
    finally:
        emulator.stop()
        deadline = time.monotonic() + 5.0
        while (left := live_group_members(pgid)) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not left, f"ministack processes left running: {left}"
        assert not port_is_open(emulator.host, emulator.port), "ministack's port still answers"


@pytest.fixture
async def ministack_aws(ministack: Ministack) -> AsyncIterator[AwsClients]:
    """The services' own aiobotocore clients, pointed at ministack."""
    clients = AwsClients(AwsSettings(endpoint_url=ministack.endpoint, default_region=REGION))
    try:
        yield clients
    finally:
        await clients.close()


def json_body(text: str) -> dict[str, Any]:
    try:
        body = json.loads(text)
    except ValueError:
        return {"unparsed": text}
    return body if isinstance(body, dict) else {"unparsed": body}


async def receive_matching(
    sqs: SQSClient,
    queue_url: str,
    matches: Callable[[dict[str, Any]], bool],
    *,
    within: float,
) -> dict[str, Any]:
    """Long-poll ``queue_url`` until a message whose JSON body ``matches`` arrives, for at
    most ``within`` seconds; every message read is deleted."""
    deadline = time.monotonic() + within
    seen: list[dict[str, Any]] = []
    while (remaining := deadline - time.monotonic()) > 0:
        response = await sqs.receive_message(
            QueueUrl=queue_url,
            MaxNumberOfMessages=10,
            WaitTimeSeconds=max(1, min(20, int(remaining))),
        )
        for message in response.get("Messages", []):
            await sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
            body = json_body(message["Body"])
            if matches(body):
                return body
            seen.append(body)
    raise AssertionError(f"nothing matching arrived on {queue_url} in {within:.0f} s: {seen}")


async def queue_url_and_arn(sqs: SQSClient, name: str) -> tuple[str, str]:
    url = (await sqs.get_queue_url(QueueName=name))["QueueUrl"]
    attributes = await sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
    return url, attributes["Attributes"]["QueueArn"]


def test_every_resource_provisions_and_a_second_apply_changes_nothing(
    ministack: Ministack,
) -> None:
    assert [step.name for step in ministack.provisioned] == [
        resource["name"] for resource in ministack.spec["resources"]
    ]
    assert [step.line for step in ministack.provisioned if not step.outcome.created] == []
    again = apply(ministack.spec, ministack.clients)
    assert [step.line for step in again if step.outcome.created or step.outcome.updated] == []


async def test_provisioned_refresh_rule_is_the_weekday_cron_into_market_data(
    ministack: Ministack, ministack_aws: AwsClients
) -> None:
    rule = ministack.resource("rule", REFRESH_RULE)
    assert rule["definition"]["ScheduleExpression"] == REFRESH_CRON
    events: Any = await ministack_aws.client("events")
    sqs: SQSClient = await ministack_aws.client("sqs")
    _, queue_arn = await queue_url_and_arn(sqs, MARKET_DATA_QUEUE)

    described = await events.describe_rule(Name=REFRESH_RULE, EventBusName="default")
    assert described["ScheduleExpression"] == REFRESH_CRON
    assert described["State"] == "ENABLED"
    assert "EventPattern" not in described  # schedule only: it matches no put_events
    targets = (await events.list_targets_by_rule(Rule=REFRESH_RULE))["Targets"]
    assert [(target["Id"], target["Arn"]) for target in targets] == [(MARKET_DATA_QUEUE, queue_arn)]
    assert rule["targets"] == [{"Id": MARKET_DATA_QUEUE, "Arn": queue_arn}]


async def test_scheduled_rule_fires_into_market_data_queue(
    ministack: Ministack, ministack_aws: AwsClients
) -> None:
    """16:30 on weekdays cannot be waited for, and ministack has no clock to move: the
    provisioned rule (same name, so the same ARN the queue policy admits, and the same
    target) is moved to every minute, must deliver one real Scheduled Event from
    ministack's own scheduler, and is then put back by ``apply`` (drift repair)."""
    rule = ministack.resource("rule", REFRESH_RULE)
    events: Any = await ministack_aws.client("events")
    sqs: SQSClient = await ministack_aws.client("sqs")
    queue_url, _ = await queue_url_and_arn(sqs, MARKET_DATA_QUEUE)
    rule_arn = (await events.describe_rule(Name=REFRESH_RULE))["Arn"]
    placeholders = ministack.clients.placeholders()

    def from_this_rule(body: dict[str, Any]) -> bool:
        return (
            body.get("source") == "aws.events"
            and body.get("detail-type") == "Scheduled Event"
            and body.get("resources") == [rule_arn]
        )

    moved_at = datetime.now(UTC)
    started = time.monotonic()
    await events.put_rule(**{**rule["definition"], "ScheduleExpression": EVERY_MINUTE})
    try:
        event = await receive_matching(sqs, queue_url, from_this_rule, within=FIRE_WITHIN)
    finally:
        only_the_rule = {**ministack.spec, "resources": [ministack.resource("rule", REFRESH_RULE)]}
        [restored] = await asyncio.to_thread(apply, only_the_rule, ministack.clients)
    print(f"\nthe every-minute rule fired {time.monotonic() - started:.1f} s after put_rule")

    fired_at = datetime.fromisoformat(event["time"].replace("Z", "+00:00"))
    assert fired_at >= moved_at.replace(second=0, microsecond=0)
    # A cron fires at its minute (within ministack's 10 s sweep), not when it is put.
    assert fired_at.second < 20, event
    assert event["account"] == placeholders["${AWS::AccountId}"]
    assert event["region"] == REGION
    assert event["detail"] == {}

    assert restored.outcome.updated == ("ScheduleExpression",)
    described = await events.describe_rule(Name=REFRESH_RULE)
    assert described["ScheduleExpression"] == REFRESH_CRON


def alarm_message(body: dict[str, Any]) -> dict[str, Any]:
    """The alarm notification inside an SNS-wrapped (not raw) SQS message."""
    message = body.get("Message")
    return json_body(message) if isinstance(message, str) else {}


async def test_alarm_action_reaches_ops_topic_and_notifier_queue(
    ministack: Ministack, ministack_aws: AwsClients
) -> None:
    definition = ministack.resource("alarm", FAILURES_ALARM)["definition"]
    ops_topic_arn = ministack.resource("topic", OPS_TOPIC)["arn"]
    cloudwatch: Any = await ministack_aws.client("cloudwatch")
    sqs: SQSClient = await ministack_aws.client("sqs")
    queue_url, _ = await queue_url_and_arn(sqs, NOTIFIER_QUEUE)

    [alarm] = (await cloudwatch.describe_alarms(AlarmNames=[FAILURES_ALARM]))["MetricAlarms"]
    assert alarm["AlarmActions"] == [ops_topic_arn]
    assert alarm["StateValue"] == "INSUFFICIENT_DATA"

    started = time.monotonic()
    await cloudwatch.put_metric_data(
        Namespace=definition["Namespace"],
        MetricData=[
            {
                "MetricName": definition["MetricName"],
                "Dimensions": definition["Dimensions"],
                "Value": definition["Threshold"] + 1,
                "Unit": "Count",
            }
        ],
    )
    notification = await receive_matching(
        sqs,
        queue_url,
        lambda body: alarm_message(body).get("AlarmName") == FAILURES_ALARM,
        within=ALARM_WITHIN,
    )
    print(f"\nthe alarm notification arrived {time.monotonic() - started:.2f} s after the datum")

    assert notification["Type"] == "Notification"
    assert notification["TopicArn"] == ops_topic_arn
    assert notification["Subject"].startswith("ALARM: ")
    message = alarm_message(notification)
    assert message["NewStateValue"] == "ALARM"
    assert message["OldStateValue"] == "INSUFFICIENT_DATA"
    assert message["Trigger"]["MetricName"] == definition["MetricName"]
    assert message["Trigger"]["Namespace"] == definition["Namespace"]

    [alarm] = (await cloudwatch.describe_alarms(AlarmNames=[FAILURES_ALARM]))["MetricAlarms"]
    assert alarm["StateValue"] == "ALARM"
