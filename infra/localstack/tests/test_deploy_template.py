"""The CloudFormation template: generated from the spec, clean under cfn-lint, and IAM
that lets no service touch another service's table, prefix, queue or secret."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml
from cfnlint.api import lint_all
from moto.iam.access_control import IAMPolicy, PermissionResult

from marketscope_infra.deploy.compute import service_id
from marketscope_infra.deploy.template import build_template, render
from marketscope_infra.spec import build_resources
from marketscope_platform.topology import SERVICES, log_group_name

PARTITION, REGION, ACCOUNT = "aws", "eu-west-1", "111122223333"
BUCKET = f"marketscope-documents-{ACCOUNT}-{REGION}"
PROPERTY_OF_NAME = {
    "table": ("AWS::DynamoDB::Table", "TableName"),
    "topic": ("AWS::SNS::Topic", "TopicName"),
    "queue": ("AWS::SQS::Queue", "QueueName"),
    "log-group": ("AWS::Logs::LogGroup", "LogGroupName"),
    "secret": ("AWS::SecretsManager::Secret", "Name"),
    "alarm": ("AWS::CloudWatch::Alarm", "AlarmName"),
    "dashboard": ("AWS::CloudWatch::Dashboard", "DashboardName"),
    "rule": ("AWS::Events::Rule", "Name"),
}


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return build_template()


def resolved(value: Any) -> Any:
    """The template's ``Fn::Sub`` and pseudo-parameter ``Ref`` with one account's values."""
    if isinstance(value, list):
        return [resolved(item) for item in value]
    if isinstance(value, dict):
        if set(value) == {"Fn::Sub"}:
            return (
                value["Fn::Sub"]
                .replace("${AWS::Partition}", PARTITION)
                .replace("${AWS::Region}", REGION)
                .replace("${AWS::AccountId}", ACCOUNT)
            )
        if value == {"Ref": "AWS::AccountId"}:
            return ACCOUNT
        return {key: resolved(item) for key, item in value.items()}
    return value


def task_policy(template: dict[str, Any], service: str) -> IAMPolicy:
    role = template["Resources"][service_id(service, "TaskRole")]
    (policy,) = role["Properties"]["Policies"]
    # moto matches resources as regular expressions, turning only ``*`` into ``.*``; IAM's
    # ``?`` (one character) is ``.`` there.
    return IAMPolicy(json.dumps(resolved(policy["PolicyDocument"])).replace("?", "."))


def policy_statements(template: dict[str, Any], service: str) -> list[dict[str, Any]]:
    role = template["Resources"][service_id(service, "TaskRole")]
    (policy,) = role["Properties"]["Policies"]
    statements: list[dict[str, Any]] = resolved(policy["PolicyDocument"])["Statement"]
    return statements


def allows(policy: IAMPolicy, action: str, resource: str, **conditions: str) -> bool:
    result = policy.is_action_permitted(action, resource, incoming_condition_values=conditions)
    return bool(result == PermissionResult.PERMITTED)


def table_arn(table: str) -> str:
    return f"arn:{PARTITION}:dynamodb:{REGION}:{ACCOUNT}:table/{table}"


def queue_arn(queue: str) -> str:
    return f"arn:{PARTITION}:sqs:{REGION}:{ACCOUNT}:{queue}"


def test_the_rendered_template_is_clean_under_cfn_lint(template: dict[str, Any]) -> None:
    text = render(template)
    matches = lint_all(text)
    errors = [f"{m.rule.id} {m.message} ({m.path})" for m in matches if m.rule.id.startswith("E")]
    assert errors == []
    assert yaml.safe_load(text) == json.loads(json.dumps(template))


def test_every_resource_of_the_spec_is_in_the_template(template: dict[str, Any]) -> None:
    """Same names as the emulator gets: the spec is the one source."""
    by_type: dict[str, set[str]] = {}
    for resource in template["Resources"].values():
        properties = resource.get("Properties", {})
        for key, value in properties.items():
            if isinstance(value, str):
                by_type.setdefault(resource["Type"], set()).add(f"{key}={value}")
    missing = []
    spec = build_resources()
    for resource in spec:
        if resource.kind in PROPERTY_OF_NAME:
            kind, key = PROPERTY_OF_NAME[resource.kind]
            if f"{key}={resource.name}" not in by_type.get(kind, set()):
                missing.append((resource.kind, resource.name))
    subscriptions = [
        r for r in template["Resources"].values() if r["Type"] == "AWS::SNS::Subscription"
    ]
    assert missing == []
    assert len(subscriptions) == sum(1 for r in spec if r.kind == "subscription")
    assert all(
        s["Properties"]["RawMessageDelivery"] == ("ops-alerts" not in json.dumps(s))
        for s in subscriptions
    )
    types = {resource["Type"] for resource in template["Resources"].values()}
    assert {
        "AWS::S3::Bucket",
        "AWS::S3::BucketPolicy",
        "AWS::SQS::QueuePolicy",
        "AWS::ECS::Cluster",
        "AWS::ECS::TaskDefinition",
        "AWS::ECS::Service",
        "AWS::ServiceDiscovery::PrivateDnsNamespace",
        "AWS::ElasticLoadBalancingV2::LoadBalancer",
        "AWS::ApplicationAutoScaling::ScalingPolicy",
    } <= types


def test_no_secret_value_is_in_the_template(template: dict[str, Any]) -> None:
    secrets = [
        r for r in template["Resources"].values() if r["Type"] == "AWS::SecretsManager::Secret"
    ]
    assert len(secrets) == 2
    for secret in secrets:
        generated = secret["Properties"]["GenerateSecretString"]
        assert "SecretString" not in secret["Properties"]
        assert (
            json.loads(generated.get("SecretStringTemplate", "{}")).get("openai_api_key", "") == ""
        )


def test_each_service_runs_on_fargate_with_its_health_check_and_log_group(
    template: dict[str, Any],
) -> None:
    resources = template["Resources"]
    for name, info in SERVICES.items():
        prefix = service_id(name, "")
        task = resources[f"{prefix}TaskDefinition"]["Properties"]
        (container,) = task["ContainerDefinitions"]
        assert task["RequiresCompatibilities"] == ["FARGATE"]
        assert container["Image"] == {"Ref": f"{prefix}Image"}
        assert task["Cpu"] == {"Ref": f"{prefix}Cpu"}
        assert task["Memory"] == {"Ref": f"{prefix}Memory"}
        assert f"127.0.0.1:{info.port}/healthz" in container["HealthCheck"]["Command"][-1]
        group = container["LogConfiguration"]["Options"]["awslogs-group"]["Ref"]
        assert resources[group]["Properties"]["LogGroupName"] == log_group_name(name)
        service = resources[f"{prefix}Service"]["Properties"]
        assert ("LoadBalancers" in service) == (name == "gateway")
        scaling = {
            key
            for key, r in resources.items()
            if r["Type"] == "AWS::ApplicationAutoScaling::ScalingPolicy" and key.startswith(prefix)
        }
        # Consumers of a shared queue also scale on their backlog.
        assert scaling == {f"{prefix}CpuScaling"} | (
            {f"{prefix}BacklogScaling"} if info.queue and not info.per_instance_queue else set()
        )


def test_the_load_balancer_keeps_sse_streams_and_fronts_the_gateway_only(
    template: dict[str, Any],
) -> None:
    resources = template["Resources"]
    attributes = {
        a["Key"]: a["Value"]
        for a in resources["LoadBalancer"]["Properties"]["LoadBalancerAttributes"]
    }
    assert attributes["idle_timeout.timeout_seconds"] == {"Ref": "IdleTimeoutSeconds"}
    assert template["Parameters"]["IdleTimeoutSeconds"]["Default"] >= 300
    target_groups = [
        r for r in resources.values() if r["Type"] == "AWS::ElasticLoadBalancingV2::TargetGroup"
    ]
    assert [t["Properties"]["Port"] for t in target_groups] == [SERVICES["gateway"].port]


def test_the_services_settings_name_real_settings(template: dict[str, Any]) -> None:
    """Every variable a task gets is a setting its service reads (no typo goes unseen)."""
    import importlib

    for name, info in SERVICES.items():
        prefix = service_id(name, "")
        (container,) = template["Resources"][f"{prefix}TaskDefinition"]["Properties"][
            "ContainerDefinitions"
        ]
        settings = importlib.import_module(f"{info.module}.settings").Settings
        fields = {f"{info.env_prefix}{field}".upper() for field in settings.model_fields}
        names = {variable["Name"] for variable in container["Environment"]}
        own = {n for n in names if n.startswith(info.env_prefix)}
        assert own <= fields, own - fields
        assert f"{info.env_prefix}HOST" in own


@pytest.mark.parametrize("service", list(SERVICES))
def test_a_service_role_reaches_its_own_table_and_no_other(
    template: dict[str, Any], service: str
) -> None:
    policy = task_policy(template, service)
    for other, info in SERVICES.items():
        for action in ("dynamodb:GetItem", "dynamodb:Query", "dynamodb:Scan", "dynamodb:PutItem"):
            for resource in (table_arn(info.table), table_arn(info.table) + "/index/streams"):
                assert allows(policy, action, resource) == (other == service), (action, resource)


@pytest.mark.parametrize("service", list(SERVICES))
def test_a_service_role_reaches_its_own_prefix_and_no_other(
    template: dict[str, Any], service: str
) -> None:
    policy = task_policy(template, service)
    own = SERVICES[service].bucket_prefix
    for info in SERVICES.values():
        for prefix in filter(None, (info.bucket_prefix,)):
            key = f"arn:{PARTITION}:s3:::{BUCKET}/{prefix}owner/document/file.pdf"
            for action in ("s3:GetObject", "s3:PutObject", "s3:DeleteObject"):
                assert allows(policy, action, key) == (prefix == own), (action, key)
    assert not allows(policy, "s3:GetObject", f"arn:{PARTITION}:s3:::{BUCKET}/other/x")
    # Listing is allowed under the service's own prefix only. moto's evaluator skips
    # StringLike conditions, so the condition itself is read here.
    listing = [
        statement
        for statement in policy_statements(template, service)
        if any(action.startswith("s3:List") for action in statement["Action"])
    ]
    if own is None:
        assert listing == []
    else:
        (statement,) = listing
        assert statement["Condition"] == {"StringLike": {"s3:prefix": [f"{own}*"]}}
    prefixes = [info.bucket_prefix for info in SERVICES.values() if info.bucket_prefix]
    assert not any(a != b and b.startswith(a) for a in prefixes for b in prefixes)


@pytest.mark.parametrize("service", list(SERVICES))
def test_a_service_role_consumes_only_its_own_queue(template: dict[str, Any], service: str) -> None:
    policy = task_policy(template, service)
    info = SERVICES[service]
    for other in SERVICES.values():
        if other.queue is None or other.per_instance_queue:
            continue
        receive = allows(policy, "sqs:ReceiveMessage", queue_arn(other.queue))
        assert receive == (other.name == service)
    if info.per_instance_queue:
        assert allows(policy, "sqs:CreateQueue", queue_arn("marketscope-gateway-i-0abc"))
        assert allows(policy, "sqs:ReceiveMessage", queue_arn("marketscope-gateway-i-0abc"))
    else:
        assert not allows(policy, "sqs:CreateQueue", queue_arn("marketscope-gateway-i-0abc"))


@pytest.mark.parametrize("service", list(SERVICES))
def test_a_service_role_publishes_only_its_own_topics(
    template: dict[str, Any], service: str
) -> None:
    policy = task_policy(template, service)
    for resource in build_resources():
        if resource.kind != "topic":
            continue
        arn = f"arn:{PARTITION}:sns:{REGION}:{ACCOUNT}:{resource.name}"
        own = resource.properties.get("producer") == service
        assert allows(policy, "sns:Publish", arn) == own, resource.name


@pytest.mark.parametrize("service", list(SERVICES))
def test_only_the_services_that_read_the_secret_may(template: dict[str, Any], service: str) -> None:
    policy = task_policy(template, service)
    arn = f"arn:{PARTITION}:secretsmanager:{REGION}:{ACCOUNT}:secret:marketscope/secrets-AbCdEf"
    assert allows(policy, "secretsmanager:GetSecretValue", arn) == bool(
        SERVICES[service].secret_keys
    )
    internal = (
        f"arn:{PARTITION}:secretsmanager:{REGION}:{ACCOUNT}:secret:marketscope/internal-key-AbCdEf"
    )
    assert not allows(policy, "secretsmanager:GetSecretValue", internal)


@pytest.mark.parametrize("service", list(SERVICES))
def test_a_service_writes_only_its_own_log_group(template: dict[str, Any], service: str) -> None:
    policy = task_policy(template, service)
    for other in SERVICES:
        group = (
            f"arn:{PARTITION}:logs:{REGION}:{ACCOUNT}:log-group:{log_group_name(other)}"
            ":log-stream:i-1"
        )
        assert allows(policy, "logs:PutLogEvents", group) == (other == service)
    assert allows(
        policy, "cloudwatch:PutMetricData", "*", **{"cloudwatch:namespace": "MarketScope"}
    )
    assert not allows(policy, "cloudwatch:PutMetricData", "*", **{"cloudwatch:namespace": "Other"})
    assert allows(policy, "xray:PutTraceSegments", "*")
