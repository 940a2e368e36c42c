"""The spec's resources as CloudFormation resources: the same tables, bucket, topics,
queues, policies, subscriptions, log groups, secret, alarms, dashboard and rule that the
applier makes on the emulator, from the same ``build_resources()``."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from marketscope_infra.definitions.model import (
    JsonObject,
    Resource,
    arn,
    bucket_arn,
    queue_arn,
    rule_arn,
    topic_arn,
)
from marketscope_infra.deploy.cfn import (
    logical_id,
    ref,
    rename_buckets,
    sub,
    with_pseudo_parameters,
)

# Bucket names are global across AWS accounts, so the stack's bucket carries its account and
# region; the services are told the name (see compute.py).
BUCKET_SUFFIX = "-${AWS::AccountId}-${AWS::Region}"
# Data outlives the stack: deleting the stack leaves the tables, the bucket and the secret.
RETAINED = {"DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain"}
SECRET_LENGTH = 64

KIND_SUFFIX = {
    "table": "Table",
    "bucket": "Bucket",
    "topic": "Topic",
    "queue": "Queue",
    "subscription": "Subscription",
    "log-group": "LogGroup",
    "secret": "Secret",
    "alarm": "Alarm",
    "dashboard": "Dashboard",
    "rule": "Rule",
}


def resource_id(resource: Resource) -> str:
    name = resource.name.replace("->", "-to-")
    return logical_id(name, KIND_SUFFIX[resource.kind])


def stack_bucket_name(name: str) -> str:
    return name + BUCKET_SUFFIX


def _arn_of(resource: Resource) -> str | None:
    match resource.kind:
        case "topic":
            return topic_arn(resource.name)
        case "queue":
            return queue_arn(resource.name)
        case "bucket":
            return bucket_arn(resource.name)
        case "rule":
            return rule_arn(resource.name)
        case "alarm":
            return arn("cloudwatch", f"alarm:{resource.name}")
    return None


@dataclass(frozen=True)
class SpecTranslation:
    """What the spec's resources become, and the names other parts of the template need."""

    resources: dict[str, JsonObject]
    bucket_names: dict[str, JsonObject]


def _localised(value: JsonObject, buckets: Sequence[str]) -> JsonObject:
    """Placeholders to ``Fn::Sub`` and the spec's bucket names to the stack's."""
    localised: JsonObject = with_pseudo_parameters(
        json.loads(
            rename_buckets(json.dumps(value), {name: stack_bucket_name(name) for name in buckets})
        )
    )
    return localised


def _table(resource: Resource) -> JsonObject:
    definition = resource.properties["definition"]
    return {
        "Type": "AWS::DynamoDB::Table",
        **RETAINED,
        "Properties": {
            **definition,
            "TimeToLiveSpecification": {
                "AttributeName": resource.properties["ttl_attribute"],
                "Enabled": True,
            },
            "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
        },
    }


def _bucket(resource: Resource) -> JsonObject:
    properties = resource.properties
    return {
        "Type": "AWS::S3::Bucket",
        **RETAINED,
        "Properties": {
            "BucketName": sub(stack_bucket_name(resource.name)),
            "VersioningConfiguration": {
                "Status": "Enabled" if properties["versioning"] else "Suspended"
            },
            "PublicAccessBlockConfiguration": properties["public_access_block"],
            "BucketEncryption": {
                "ServerSideEncryptionConfiguration": [
                    {"ServerSideEncryptionByDefault": rule["ApplyServerSideEncryptionByDefault"]}
                    for rule in properties["encryption"]["Rules"]
                ]
            },
        },
    }


def _topic(resource: Resource) -> JsonObject:
    return {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": resource.name}}


def _queue(resource: Resource) -> JsonObject:
    properties: JsonObject = {"QueueName": resource.name}
    for attribute, value in resource.properties["attributes"].items():
        properties[attribute] = int(value)
    if redrive := resource.properties.get("redrive_policy"):
        properties["RedrivePolicy"] = redrive
    return {"Type": "AWS::SQS::Queue", "Properties": properties}


def _subscription(resource: Resource) -> JsonObject:
    properties = resource.properties
    attributes = properties.get("attributes", {})
    cfn: JsonObject = {
        "TopicArn": properties["topic_arn"],
        "Protocol": properties["protocol"],
        "Endpoint": properties["endpoint"],
        "RawMessageDelivery": attributes.get("RawMessageDelivery") == "true",
    }
    if filter_policy := attributes.get("FilterPolicy"):
        cfn["FilterPolicy"] = json.loads(filter_policy)
    return {"Type": "AWS::SNS::Subscription", "Properties": cfn}


def _log_group(resource: Resource) -> JsonObject:
    return {
        "Type": "AWS::Logs::LogGroup",
        "Properties": {
            "LogGroupName": resource.name,
            "RetentionInDays": resource.properties["retention_in_days"],
        },
    }


def _secret(resource: Resource) -> JsonObject:
    """The generated key is made by Secrets Manager, so no value is in the template; the
    other keys start empty and are set after the deployment (docs/deploy-aws.md)."""
    generated = resource.properties["generated_keys"]
    if len(generated) != 1:
        raise ValueError("CloudFormation generates one key of a secret, not " + str(generated))
    return {
        "Type": "AWS::SecretsManager::Secret",
        **RETAINED,
        "Properties": {
            "Name": resource.name,
            "Description": resource.properties["description"],
            "GenerateSecretString": {
                "SecretStringTemplate": json.dumps(resource.properties["initial_value"]),
                "GenerateStringKey": generated[0],
                "PasswordLength": SECRET_LENGTH,
                "ExcludePunctuation": True,
            },
        },
    }


def _alarm(resource: Resource) -> JsonObject:
    return {"Type": "AWS::CloudWatch::Alarm", "Properties": dict(resource.properties["definition"])}


def _dashboard(resource: Resource) -> JsonObject:
    return {
        "Type": "AWS::CloudWatch::Dashboard",
        "Properties": {
            "DashboardName": resource.name,
            "DashboardBody": json.dumps(resource.properties["body"], separators=(",", ":")),
        },
    }


def _rule(resource: Resource) -> JsonObject:
    return {
        "Type": "AWS::Events::Rule",
        "Properties": {
            **resource.properties["definition"],
            "Targets": resource.properties["targets"],
        },
    }


TRANSLATORS: dict[str, Callable[[Resource], JsonObject]] = {
    "table": _table,
    "bucket": _bucket,
    "topic": _topic,
    "queue": _queue,
    "subscription": _subscription,
    "log-group": _log_group,
    "secret": _secret,
    "alarm": _alarm,
    "dashboard": _dashboard,
    "rule": _rule,
}


def _policy_resources(resource: Resource, logical: str) -> dict[str, JsonObject]:
    """Queue and bucket policies are resources of their own in CloudFormation."""
    policy = resource.properties.get("policy")
    if policy is None:
        return {}
    if resource.kind == "queue":
        return {
            logical + "Policy": {
                "Type": "AWS::SQS::QueuePolicy",
                "Properties": {"Queues": [ref(logical)], "PolicyDocument": policy},
            }
        }
    if resource.kind == "bucket":
        return {
            logical + "Policy": {
                "Type": "AWS::S3::BucketPolicy",
                "Properties": {"Bucket": ref(logical), "PolicyDocument": policy},
            }
        }
    raise ValueError(f"{resource.kind} {resource.name} has a policy the template cannot place")


def _dependencies(text: str, arns: dict[str, str], own_arn: str | None) -> list[str]:
    """The resources whose ARNs this one names: CloudFormation makes them first."""
    return sorted(logical for found, logical in arns.items() if found != own_arn and found in text)


def translate(resources: Sequence[Resource]) -> SpecTranslation:
    buckets = [resource.name for resource in resources if resource.kind == "bucket"]
    arns = {
        found: resource_id(resource)
        for resource in resources
        if (found := _arn_of(resource)) is not None
    }
    translated: dict[str, JsonObject] = {}
    for resource in resources:
        logical = resource_id(resource)
        if logical in translated:
            raise ValueError(f"two resources would be {logical} in the template")
        cfn = TRANSLATORS[resource.kind](resource)
        # A policy names who may send (a rule, a topic), which need not exist first; the
        # resource itself may need what it names (a DLQ, a topic, a queue) to exist.
        if depends := _dependencies(json.dumps(cfn), arns, _arn_of(resource)):
            cfn["DependsOn"] = depends
        pieces = {logical: cfn, **_policy_resources(resource, logical)}
        for piece_id, piece in pieces.items():
            translated[piece_id] = _localised(piece, buckets)
    bucket_names = {name: sub(stack_bucket_name(name)) for name in buckets}
    return SpecTranslation(resources=translated, bucket_names=bucket_names)
