"""Breaking changes between two OpenAPI documents, for pinned-snapshot contract tests.

Breaking, for a client written against the old document: a removed path or operation;
a removed response field, or one whose type narrowed; a removed enum value in a response;
a new required request parameter or body field; a request field whose type narrowed.
Additions are never breaking.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

JsonObject = dict[str, Any]
UPDATE_ENV = "MARKETSCOPE_UPDATE_SNAPSHOTS"
METHODS = ("get", "put", "post", "delete", "patch", "head", "options")


def _resolve(document: JsonObject, schema: Any) -> Any:
    while isinstance(schema, dict) and "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = document.get("components", {}).get("schemas", {}).get(name, {})
    return schema


def _types(document: JsonObject, schema: Any) -> set[str]:
    """The JSON types a schema admits (anyOf/oneOf flattened; empty: anything)."""
    schema = _resolve(document, schema)
    if not isinstance(schema, dict):
        return set()
    for combinator in ("anyOf", "oneOf"):
        if combinator in schema:
            found: set[str] = set()
            for option in schema[combinator]:
                option_types = _types(document, option)
                if not option_types:
                    return set()
                found |= option_types
            return found
    declared = schema.get("type")
    if isinstance(declared, list):
        return set(declared)
    if isinstance(declared, str):
        return {declared} | ({"integer"} if declared == "number" else set())
    return set()


def _compare_schema(
    old_doc: JsonObject,
    new_doc: JsonObject,
    old: Any,
    new: Any,
    where: str,
    *,
    response: bool,
    seen: set[tuple[int, int]] | None = None,
) -> list[str]:
    seen = seen if seen is not None else set()
    old, new = _resolve(old_doc, old), _resolve(new_doc, new)
    if not isinstance(old, dict) or not isinstance(new, dict) or (id(old), id(new)) in seen:
        return []
    seen.add((id(old), id(new)))
    problems: list[str] = []
    old_types, new_types = _types(old_doc, old), _types(new_doc, new)
    if response:
        # A client handles the old types: a response may narrow, never widen.
        if old_types and (not new_types or not new_types <= old_types):
            problems.append(
                f"{where}: type changed from {sorted(old_types)} to {sorted(new_types)}"
            )
        removed = [v for v in old.get("enum", []) if "enum" in new and v not in new["enum"]]
        if removed:
            problems.append(f"{where}: enum values removed {removed}")
    else:
        # A client sends the old types: a request may widen, never narrow.
        if new_types and (not old_types or not old_types <= new_types):
            problems.append(
                f"{where}: type narrowed from {sorted(old_types)} to {sorted(new_types)}"
            )
        removed = [v for v in old.get("enum", []) if "enum" in new and v not in new["enum"]]
        if removed:
            problems.append(f"{where}: accepted enum values removed {removed}")
    old_props, new_props = old.get("properties", {}), new.get("properties", {})
    for name, old_prop in old_props.items():
        if name not in new_props:
            if response:
                problems.append(f"{where}.{name}: field removed")
            continue
        problems += _compare_schema(
            old_doc,
            new_doc,
            old_prop,
            new_props[name],
            f"{where}.{name}",
            response=response,
            seen=seen,
        )
    if not response:
        newly_required = set(new.get("required", [])) - set(old.get("required", []))
        for name in sorted(newly_required):
            problems.append(f"{where}.{name}: request field became required")
    for key in ("items", "additionalProperties"):
        if isinstance(old.get(key), dict) and isinstance(new.get(key), dict):
            problems += _compare_schema(
                old_doc, new_doc, old[key], new[key], f"{where}[]", response=response, seen=seen
            )
    return problems


def _json_schema(body: JsonObject | None) -> Any:
    content = (body or {}).get("content", {})
    for media_type in ("application/json", "multipart/form-data"):
        if media_type in content:
            return content[media_type].get("schema")
    return None


def breaking_changes(old: JsonObject, new: JsonObject) -> list[str]:
    problems: list[str] = []
    for path, old_item in old.get("paths", {}).items():
        new_item = new.get("paths", {}).get(path)
        if new_item is None:
            problems.append(f"{path}: path removed")
            continue
        for method in METHODS:
            if method not in old_item:
                continue
            where = f"{method.upper()} {path}"
            if method not in new_item:
                problems.append(f"{where}: operation removed")
                continue
            old_op, new_op = old_item[method], new_item[method]
            old_params = {(p["name"], p["in"]): p for p in old_op.get("parameters", [])}
            for param in new_op.get("parameters", []):
                key = (param["name"], param["in"])
                was = old_params.get(key)
                if param.get("required") and (was is None or not was.get("required")):
                    problems.append(f"{where}: parameter {param['name']} is now required")
                if was is not None:
                    problems += _compare_schema(
                        old,
                        new,
                        was.get("schema"),
                        param.get("schema"),
                        f"{where} parameter {param['name']}",
                        response=False,
                    )
            if old_op.get("requestBody") or new_op.get("requestBody"):
                problems += _compare_schema(
                    old,
                    new,
                    _json_schema(old_op.get("requestBody")),
                    _json_schema(new_op.get("requestBody")),
                    f"{where} body",
                    response=False,
                )
            for status, old_response in old_op.get("responses", {}).items():
                new_response = new_op.get("responses", {}).get(status)
                if new_response is None:
                    problems.append(f"{where}: response {status} removed")
                    continue
                problems += _compare_schema(
                    old,
                    new,
                    _json_schema(old_response),
                    _json_schema(new_response),
                    f"{where} {status}",
                    response=True,
                )
    return problems


def check_snapshot(current: JsonObject, snapshot: Path) -> list[str]:
    """Breaking changes of ``current`` against the committed snapshot. With
    ``MARKETSCOPE_UPDATE_SNAPSHOTS=1`` the snapshot is rewritten on purpose instead."""
    if os.environ.get(UPDATE_ENV) == "1" or not snapshot.exists():
        snapshot.parent.mkdir(parents=True, exist_ok=True)
        snapshot.write_text(json.dumps(current, indent=2, sort_keys=True) + "\n")
        return []
    return breaking_changes(json.loads(snapshot.read_text()), current)
