"""`marketscope deploy template`, deployed into the embedded emulator's CloudFormation (a
moto server of this module's own, so its fixed resource names meet no provisioned copy),
then all five services started with the environment of the task definitions the stack
made, answering ``/readyz`` against the stack's tables, queues and bucket."""

from __future__ import annotations

import asyncio
import os
import re
import secrets
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
import pytest_asyncio
import yaml
from moto.cloudformation.parsing import get_model_map
from typer.testing import CliRunner

from marketscope_chat.main import create_app as create_chat
from marketscope_chat.settings import Settings as ChatSettings
from marketscope_cli.app import app as cli
from marketscope_emulator.process import EmulatorProcess, free_port
from marketscope_gateway.main import create_app as create_gateway
from marketscope_gateway.settings import Settings as GatewaySettings
from marketscope_infra.deploy.compute import service_id
from marketscope_market_data.main import create_app as create_market_data
from marketscope_market_data.settings import Settings as MarketDataSettings
from marketscope_notifier.main import create_app as create_notifier
from marketscope_notifier.settings import Settings as NotifierSettings
from marketscope_platform.aws import AwsSettings
from marketscope_platform.topology import SERVICES
from marketscope_rag.main import create_app as create_rag
from marketscope_rag.settings import Settings as RagSettings
from marketscope_servicekit.testing import served

from .pruning import Pruned, prune

REGION = "us-east-1"
STACK = "marketscope"
CREATE_SECONDS = 120.0
READY_SECONDS = 60.0
# What moto's CloudFormation could not make at the time of writing; a type moto learns
# moves out of this list (the test says so), one it forgets fails the test.
EXPECTED_SKIPPED = {
    "AWS::ApplicationAutoScaling::ScalableTarget",
    "AWS::ApplicationAutoScaling::ScalingPolicy",
    "AWS::CloudWatch::Alarm",
    "AWS::S3::BucketPolicy",
    "AWS::SNS::Subscription",
    "AWS::SQS::QueuePolicy",
    "AWS::SecretsManager::Secret",
    "AWS::ServiceDiscovery::PrivateDnsNamespace",
    "AWS::ServiceDiscovery::Service",
}

in_module_loop = pytest.mark.asyncio(loop_scope="module")


@pytest.fixture(scope="module")
def emulator() -> Iterator[str]:
    with EmulatorProcess(port=free_port()) as process:
        yield process.endpoint


def boto(endpoint: str, service: str) -> Any:
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


@pytest.fixture(scope="module")
def template_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The template as a user gets it: from the CLI."""
    path = tmp_path_factory.mktemp("deploy") / "marketscope.yaml"
    result = CliRunner().invoke(cli, ["deploy", "template", "--output", str(path)])
    assert result.exit_code == 0, result.output
    return path


@pytest.fixture(scope="module")
def pruned(template_file: Path) -> Pruned:
    template = yaml.safe_load(template_file.read_text(encoding="utf-8"))
    return prune(template, set(get_model_map()))


@pytest.fixture(scope="module")
def stack(emulator: str, pruned: Pruned) -> dict[str, Any]:
    ec2 = boto(emulator, "ec2")
    vpc = ec2.create_vpc(CidrBlock="10.40.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(
            VpcId=vpc, CidrBlock=f"10.40.{i}.0/24", AvailabilityZone=f"{REGION}{zone}"
        )["Subnet"]["SubnetId"]
        for i, zone in enumerate("ab", start=1)
    ]
    parameters = {
        "VpcId": vpc,
        "ServiceSubnetIds": ",".join(subnets),
        "LoadBalancerSubnetIds": ",".join(subnets),
        **{
            service_id(name, "Image"): f"registry.example/marketscope-{name}:test"
            for name in SERVICES
        },
    }
    cloudformation = boto(emulator, "cloudformation")
    cloudformation.create_stack(
        StackName=STACK,
        TemplateBody=yaml.safe_dump(pruned.template, sort_keys=False),
        Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()],
        Capabilities=["CAPABILITY_IAM"],
    )
    deadline = time.monotonic() + CREATE_SECONDS
    while (described := cloudformation.describe_stacks(StackName=STACK)["Stacks"][0])[
        "StackStatus"
    ].endswith("IN_PROGRESS"):
        assert time.monotonic() < deadline, "the stack was not created in time"
        time.sleep(0.5)
    assert described["StackStatus"] == "CREATE_COMPLETE", described.get("StackStatusReason")
    return described


def test_the_types_the_emulator_lacks_are_named_and_the_rest_is_created(
    emulator: str, pruned: Pruned, stack: dict[str, Any]
) -> None:
    print("skipped on the emulator:", {kind: len(ids) for kind, ids in pruned.skipped.items()})
    assert set(pruned.skipped) == EXPECTED_SKIPPED
    summaries = boto(emulator, "cloudformation").list_stack_resources(StackName=STACK)[
        "StackResourceSummaries"
    ]
    # moto lists the resource whose condition is false (HTTPS, with no certificate given)
    # as a summary without a name.
    created = {
        s["LogicalResourceId"]: s["ResourceStatus"] for s in summaries if s["LogicalResourceId"]
    }
    expected = {
        key for key, resource in pruned.template["Resources"].items() if "Condition" not in resource
    }
    assert set(created) == expected
    assert set(created.values()) == {"CREATE_COMPLETE"}
    tables = boto(emulator, "dynamodb").list_tables()["TableNames"]
    assert sorted(tables) == sorted(info.table for info in SERVICES.values())
    services = boto(emulator, "ecs").list_services(cluster="marketscope")["serviceArns"]
    assert len(services) == len(SERVICES)


@dataclass(frozen=True)
class Check:
    exit_code: int
    output: str


def run_check(emulator: str) -> Check:
    with pytest.MonkeyPatch.context() as env:
        env.setenv("AWS_ENDPOINT_URL", emulator)
        env.setenv("AWS_DEFAULT_REGION", REGION)
        result = CliRunner().invoke(cli, ["deploy", "check", "--stack", STACK])
    return Check(result.exit_code, result.output)


@pytest.fixture(scope="module")
def checks(emulator: str, stack: dict[str, Any]) -> tuple[Check, Check]:
    """`marketscope deploy check` twice: the first makes what the emulator's CloudFormation
    skipped, the second finds nothing to do."""
    return run_check(emulator), run_check(emulator)


DRIFT_LINE = re.compile(r"^(created|exists) +(\S+) (\S+)(?: \(updated ([^)]*)\))?", re.MULTILINE)
# What the check finds on the emulator, each for a reason of the emulator's CloudFormation:
# the resource types it skips are made, and the properties it ignores are put back.
EXPECTED_DRIFT = {
    ("created", "subscription", ""),  # AWS::SNS::Subscription skipped
    ("created", "secret", ""),  # AWS::SecretsManager::Secret skipped
    ("created", "alarm", ""),  # AWS::CloudWatch::Alarm skipped
    ("exists", "queue", "Policy"),  # AWS::SQS::QueuePolicy skipped
    ("exists", "table", "TimeToLive"),  # TimeToLiveSpecification ignored
    ("exists", "bucket", "Versioning, PublicAccessBlock"),  # both configurations ignored
}


def test_the_check_finds_the_stack_as_the_spec_says_but_for_what_the_emulator_skipped(
    checks: tuple[Check, Check],
) -> None:
    first, second = checks
    # The console wraps long lines: one space stands for any run of white space.
    drift = {
        (verb, kind, " ".join(updated.split()))
        for verb, kind, _name, updated in DRIFT_LINE.findall(first.output)
    }
    assert drift == EXPECTED_DRIFT, first.output
    counts = {kind: 0 for _verb, kind, _updated in EXPECTED_DRIFT}
    for _verb, kind, _name, _updated in DRIFT_LINE.findall(first.output):
        counts[kind] += 1
    # Every topic, DLQ, log group, the dashboard and the rule were as the spec says.
    assert counts == {
        "subscription": 8,
        "secret": 1,
        "alarm": 16,
        "queue": 4,
        "table": 5,
        "bucket": 1,
    }
    assert first.exit_code == 1
    assert second.exit_code == 0, second.output
    assert "all 59 resources as the spec says" in second.output


def task_environment(emulator: str) -> dict[str, str]:
    """Every variable the stack's task definitions give their containers."""
    ecs = boto(emulator, "ecs")
    environment: dict[str, str] = {}
    for name in SERVICES:
        definition = ecs.describe_task_definition(taskDefinition=f"marketscope-{name}")
        (container,) = definition["taskDefinition"]["containerDefinitions"]
        for variable in container["environment"]:
            if variable["name"].startswith(SERVICES[name].env_prefix):
                environment[variable["name"]] = variable["value"]
    return environment


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def running(
    emulator: str,
    stack: dict[str, Any],
    checks: tuple[Check, Check],
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[dict[str, str]]:
    """The five services on loopback with the tasks' settings, except where a laptop
    differs from Fargate: the address they listen on, the callers' service-discovery
    URLs, and the internal key ECS would inject from its secret (a type the emulator's
    CloudFormation lacks)."""
    environment = task_environment(emulator)
    local = {"HOST", "CHAT_URL", "MARKET_DATA_URL", "RAG_URL", "NOTIFIER_URL"}
    aws = AwsSettings(endpoint_url=emulator, default_region=REGION)
    with pytest.MonkeyPatch.context() as env:
        for name, value in environment.items():
            if not any(name.endswith("_" + setting) for setting in local):
                env.setenv(name, value)
        env.setenv("MARKETSCOPE_INTERNAL_KEY", secrets.token_urlsafe(32))
        async with AsyncExitStack() as started:
            urls: dict[str, str] = {}
            urls["market-data"] = await started.enter_async_context(
                served(
                    create_market_data(
                        MarketDataSettings(live_refresh=False, embedded_scheduler=False), aws
                    )
                )
            )
            urls["rag"] = await started.enter_async_context(
                served(
                    create_rag(
                        RagSettings(index_path=tmp_path_factory.mktemp("rag") / "chroma"), aws
                    )
                )
            )
            urls["notifier"] = await started.enter_async_context(
                served(create_notifier(NotifierSettings(), aws))
            )
            urls["chat"] = await started.enter_async_context(
                served(
                    create_chat(
                        ChatSettings(market_data_url=urls["market-data"], rag_url=urls["rag"]), aws
                    )
                )
            )
            urls["gateway"] = await started.enter_async_context(
                served(
                    create_gateway(
                        GatewaySettings(
                            chat_url=urls["chat"],
                            market_data_url=urls["market-data"],
                            rag_url=urls["rag"],
                            notifier_url=urls["notifier"],
                        ),
                        aws,
                    )
                )
            )
            yield urls


@in_module_loop
async def test_every_service_is_ready_on_the_resources_the_stack_made(
    emulator: str, stack: dict[str, Any], running: dict[str, str]
) -> None:
    bucket = next(o["OutputValue"] for o in stack["Outputs"] if o["OutputKey"] == "DocumentsBucket")
    assert bucket == f"marketscope-documents-123456789012-{REGION}"
    assert os.environ["MARKETSCOPE_RAG_DOCUMENTS_BUCKET"] == bucket
    async with httpx.AsyncClient(timeout=10) as client:
        for name, url in running.items():
            deadline = time.monotonic() + READY_SECONDS
            while (ready := await client.get(f"{url}/readyz")).status_code != 200:
                assert time.monotonic() < deadline, f"{name} never became ready: {ready.text}"
                await asyncio.sleep(0.2)
            checks = {check["name"]: check["ok"] for check in ready.json()["checks"]}
            assert checks, name
            assert all(checks.values()), (name, checks)
