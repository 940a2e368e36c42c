"""Generated artefacts: JSON Schema files and the AsyncAPI document."""

from marketscope_events.schemas.asyncapi import build_asyncapi, render_asyncapi
from marketscope_events.schemas.jsonschema import data_schema, render_json_schemas

__all__ = ["build_asyncapi", "data_schema", "render_asyncapi", "render_json_schemas"]
