"""EventBridge rules and their targets."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from marketscope_infra.appliers.context import (
    CREATED,
    Clients,
    Outcome,
    ProvisioningError,
    Resource,
    drifted,
    error_code,
    found,
)


def apply_rule(clients: Clients, resource: Resource) -> Outcome:
    events = clients.client("events")
    definition: dict[str, Any] = resource["definition"]
    bus = definition.get("EventBusName", "default")
    try:
        current = events.describe_rule(Name=definition["Name"], EventBusName=bus)
    except ClientError as exc:
        if error_code(exc) != "ResourceNotFoundException":
            raise
        current = None
    changes = drifted(definition, current) if current is not None else []
    if current is None or changes:
        events.put_rule(**definition)
    if _put_missing_targets(events, definition["Name"], bus, resource["targets"]):
        changes.append("Targets")
    return CREATED if current is None else found(changes)


def _put_missing_targets(events: Any, rule: str, bus: str, targets: list[dict[str, Any]]) -> bool:
    pages = events.get_paginator("list_targets_by_rule").paginate(Rule=rule, EventBusName=bus)
    current = {target["Id"]: target for page in pages for target in page["Targets"]}
    missing = [
        target
        for target in targets
        if target["Id"] not in current or drifted(target, current[target["Id"]])
    ]
    if not missing:
        return False
    response = events.put_targets(Rule=rule, EventBusName=bus, Targets=missing)
    if response.get("FailedEntryCount"):
        raise ProvisioningError("rule", rule, f"targets refused: {response.get('FailedEntries')}")
    return True
