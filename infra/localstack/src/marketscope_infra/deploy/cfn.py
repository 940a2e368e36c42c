"""CloudFormation's vocabulary: logical ids, intrinsic functions, ARNs of the stack's
resources."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from marketscope_infra.definitions.model import JsonObject, arn, bucket_arn

NAME_PREFIX = "marketscope-"
_PSEUDO_PLACEHOLDER = "${AWS::"


def logical_id(name: str, kind: str) -> str:
    """``marketscope-chat-dlq`` and ``Queue`` give ``ChatDlqQueue``: alphanumeric, as
    CloudFormation requires, and stable for a stable name."""
    words = re.split(r"[^A-Za-z0-9]+", name.removeprefix(NAME_PREFIX).removeprefix("/"))
    return "".join(word[:1].upper() + word[1:] for word in words if word) + kind


def ref(logical: str) -> JsonObject:
    return {"Ref": logical}


def get_att(logical: str, attribute: str) -> JsonObject:
    return {"Fn::GetAtt": [logical, attribute]}


def sub(text: str) -> JsonObject:
    return {"Fn::Sub": text}


def with_pseudo_parameters(value: Any) -> Any:
    """The spec writes ARNs with ``${AWS::Region}``-style placeholders, which the emulator's
    applier fills in; in a template each such string becomes an ``Fn::Sub``."""
    if isinstance(value, str):
        return sub(value) if _PSEUDO_PLACEHOLDER in value else value
    if isinstance(value, list):
        return [with_pseudo_parameters(item) for item in value]
    if isinstance(value, dict):
        if "Fn::Sub" in value:
            return value
        return {key: with_pseudo_parameters(item) for key, item in value.items()}
    return value


def stack_arn(service: str, resource: str) -> JsonObject:
    """The spec's ARN of a resource of this stack's account and region, as an ``Fn::Sub``."""
    return sub(arn(service, resource))


def rename_buckets(text: str, names: Mapping[str, str]) -> str:
    """``text`` with each bucket's ARN (and the ARNs of its objects) naming the new name."""
    for old, new in names.items():
        text = text.replace(bucket_arn(old), bucket_arn(new))
    return text
