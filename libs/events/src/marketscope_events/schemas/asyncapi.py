"""An AsyncAPI 3.0 document of the catalog's published events: one channel per SNS topic,
the producer's send operation and every subscriber's receive operation. Stream-only
events are not messages between services, so they are left out (their JSON Schemas are
in ``schemas/``)."""

from __future__ import annotations

from typing import Any

import yaml

from marketscope_events.catalog import Catalog
from marketscope_events.schemas.jsonschema import data_schema

_HEADERS = {
    "type": "object",
    "description": "SNS/SQS message attributes",
    "properties": {
        "type": {"type": "string", "description": "CloudEvents type of the envelope"},
        "traceparent": {"type": "string", "description": "W3C trace context"},
        "X-Amzn-Trace-Id": {"type": "string", "description": "The same trace, X-Ray format"},
    },
    "required": ["type"],
}


def _operation_id(action: str, service: str, event_name: str) -> str:
    service_part = "".join(part.capitalize() for part in service.split("-"))
    return f"{service_part}{action.capitalize()}{event_name}"


def build_asyncapi(catalog: Catalog) -> dict[str, Any]:
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    schemas: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    for spec in catalog:
        topic = spec.topic
        if topic is None:
            continue
        version_messages = {}
        for version in sorted(spec.models):
            message_name = f"{spec.name}V{version}"
            schema = data_schema(catalog, spec.name, version)
            schema.pop("$schema", None)
            schemas[message_name] = schema
            messages[message_name] = {
                "name": spec.type_name(version),
                "title": f"{spec.name} v{version}",
                "summary": spec.description,
                "contentType": "application/cloudevents+json",
                "headers": _HEADERS,
                "payload": {
                    "allOf": [
                        {"$ref": "#/components/schemas/Envelope"},
                        {
                            "type": "object",
                            "properties": {
                                "type": {"const": spec.type_name(version)},
                                "data": {"$ref": f"#/components/schemas/{message_name}"},
                            },
                        },
                    ]
                },
            }
            version_messages[message_name] = {"$ref": f"#/components/messages/{message_name}"}
        channels[spec.name] = {
            "address": topic,
            "description": f"SNS topic {topic}, raw delivery to each subscriber's queue",
            "messages": version_messages,
        }
        channel_ref = {"$ref": f"#/channels/{spec.name}"}
        operations[_operation_id("send", spec.producer, spec.name)] = {
            "action": "send",
            "channel": channel_ref,
            "summary": f"{spec.producer} publishes {spec.name} (transactional outbox)",
            "tags": [{"name": spec.producer}],
        }
        for subscriber in sorted(spec.subscribers):
            operations[_operation_id("receive", subscriber, spec.name)] = {
                "action": "receive",
                "channel": channel_ref,
                "summary": f"{subscriber} consumes {spec.name} from queue marketscope-{subscriber}",
                "tags": [{"name": subscriber}],
            }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "MarketScope events",
            "version": "1.0.0",
            "description": "Domain events of the MarketScope services, as CloudEvents 1.0 "
            "JSON envelopes on SNS topics fanned out to per-service SQS queues. Events a "
            "service keeps in its own stream only are not published and not listed here.",
        },
        "defaultContentType": "application/cloudevents+json",
        "channels": channels,
        "operations": operations,
        "components": {
            "schemas": {"Envelope": _envelope_component(), **schemas},
            "messages": messages,
        },
    }


def _envelope_component() -> dict[str, Any]:
    from marketscope_events.schemas.jsonschema import envelope_schema

    schema = envelope_schema()
    schema.pop("$schema", None)
    return schema


def render_asyncapi(catalog: Catalog) -> str:
    rendered: str = yaml.safe_dump(build_asyncapi(catalog), sort_keys=False, allow_unicode=True)
    return rendered
