"""The spec's vocabulary: a resource is a kind, a name and JSON properties.

ARNs depend on the account and region, known only when the spec is applied, so the spec
writes them with CloudFormation's pseudo-parameter placeholders and the applier fills
them in.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

JsonObject = dict[str, Any]

PARTITION = "${AWS::Partition}"
REGION = "${AWS::Region}"
ACCOUNT_ID = "${AWS::AccountId}"


def arn(service: str, resource: str) -> str:
    return f"arn:{PARTITION}:{service}:{REGION}:{ACCOUNT_ID}:{resource}"


def topic_arn(topic: str) -> str:
    return arn("sns", topic)


def queue_arn(queue: str) -> str:
    return arn("sqs", queue)


def rule_arn(rule: str) -> str:
    return arn("events", f"rule/{rule}")


def bucket_arn(bucket: str) -> str:
    """S3 bucket names are global: their ARNs name neither a region nor an account."""
    return f"arn:{PARTITION}:s3:::{bucket}"


@dataclass(frozen=True)
class Resource:
    kind: str
    name: str
    properties: JsonObject = field(default_factory=dict)

    def to_json(self) -> JsonObject:
        return {"kind": self.kind, "name": self.name, **self.properties}
