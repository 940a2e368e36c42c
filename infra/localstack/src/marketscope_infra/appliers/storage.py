"""DynamoDB tables (TTL on)."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from marketscope_infra.appliers.context import (
    CREATED,
    Clients,
    Outcome,
    Resource,
    error_code,
    found,
)

TTL_ON = ("ENABLED", "ENABLING")


def apply_table(clients: Clients, resource: Resource) -> Outcome:
    dynamodb = clients.client("dynamodb")
    name = resource["name"]
    definition: dict[str, Any] = resource["definition"]
    try:
        table = dynamodb.describe_table(TableName=name)["Table"]
    except ClientError as exc:
        if error_code(exc) != "ResourceNotFoundException":
            raise
        table = None
    if table is None:
        dynamodb.create_table(**definition)
    _wait_until_active(dynamodb, name)
    changes = _enable_ttl(dynamodb, name, resource["ttl_attribute"])
    return CREATED if table is None else found(changes)


def _wait_until_active(dynamodb: Any, name: str) -> None:
    waiter = dynamodb.get_waiter("table_exists")
    waiter.wait(TableName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 300})


def _enable_ttl(dynamodb: Any, name: str, attribute: str) -> list[str]:
    ttl = dynamodb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
    if ttl.get("TimeToLiveStatus") in TTL_ON and ttl.get("AttributeName") == attribute:
        return []
    dynamodb.update_time_to_live(
        TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": attribute}
    )
    return ["TimeToLive"]
