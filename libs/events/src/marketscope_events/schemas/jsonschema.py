"""JSON Schema files generated from the catalog's pydantic models (wire format)."""

from __future__ import annotations

import json
from typing import Any

from marketscope_events.catalog import Catalog
from marketscope_events.catalog.registry import schema_uri
from marketscope_events.envelope import Envelope


def data_schema(catalog: Catalog, event_name: str, version: int) -> dict[str, Any]:
    spec = catalog.spec(event_name)
    model = spec.model(version)
    event_type = spec.type_name(version)
    schema = model.model_json_schema(mode="serialization")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": schema_uri(event_type),
        "title": event_type,
        "description": spec.description,
        **{key: value for key, value in schema.items() if key != "title"},
    }


def envelope_schema() -> dict[str, Any]:
    schema = Envelope.model_json_schema(mode="serialization")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "urn:marketscope:schema:envelope",
        **schema,
    }


def render_json_schemas(catalog: Catalog) -> dict[str, str]:
    """File name -> file text, for every version of every event (stream-only ones too:
    their data is stored like any other) plus the envelope."""
    files = {"envelope.json": _dump(envelope_schema())}
    for spec in catalog.all_specs():
        for version in sorted(spec.models):
            files[f"{spec.type_name(version)}.json"] = _dump(
                data_schema(catalog, spec.name, version)
            )
    return files


def _dump(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, sort_keys=True) + "\n"
