"""A template cut down to what an emulator's CloudFormation can create: resources of the
types it lacks are left out, and so is every property, list item or dependency that
refers to one of them."""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

_GONE = object()
_SUB_NAME = re.compile(r"\$\{([A-Za-z0-9]+)(?:\.[A-Za-z0-9.]+)?\}")


@dataclass(frozen=True)
class Pruned:
    template: dict[str, Any]
    skipped: dict[str, list[str]]  # resource type -> logical ids left out


def _refers_to(value: dict[str, Any], removed: Collection[str]) -> bool:
    if "Ref" in value:
        return value["Ref"] in removed
    if "Fn::GetAtt" in value:
        return value["Fn::GetAtt"][0] in removed
    if "Fn::Sub" in value and isinstance(value["Fn::Sub"], str):
        return any(name in removed for name in _SUB_NAME.findall(value["Fn::Sub"]))
    return False


def _without(value: Any, removed: Collection[str]) -> Any:
    if isinstance(value, dict):
        if _refers_to(value, removed):
            return _GONE
        kept = {}
        for key, item in value.items():
            pruned = _without(item, removed)
            if pruned is not _GONE and pruned != []:
                kept[key] = pruned
        return kept
    if isinstance(value, list):
        return [pruned for item in value if (pruned := _without(item, removed)) is not _GONE]
    return value


def prune(template: dict[str, Any], supported_types: Collection[str]) -> Pruned:
    resources = template["Resources"]
    removed = {key for key, r in resources.items() if r["Type"] not in supported_types}
    skipped: dict[str, list[str]] = {}
    for key in sorted(removed):
        skipped.setdefault(resources[key]["Type"], []).append(key)
    kept = {}
    for key, resource in resources.items():
        if key in removed:
            continue
        resource = _without(resource, removed)
        if isinstance(depends := resource.get("DependsOn"), list):
            resource["DependsOn"] = [d for d in depends if d not in removed]
            if not resource["DependsOn"]:
                del resource["DependsOn"]
        kept[key] = resource
    outputs = {
        key: output
        for key, output in template.get("Outputs", {}).items()
        if _without(output, removed) == output
    }
    return Pruned({**template, "Resources": kept, "Outputs": outputs}, skipped)
