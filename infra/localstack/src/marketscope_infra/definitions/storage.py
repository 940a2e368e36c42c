"""DynamoDB tables (one per service, the event-store shape) and the documents bucket."""

from __future__ import annotations

from collections.abc import Mapping

from marketscope_events.store.table import TTL_ATTRIBUTE, table_definition
from marketscope_infra.definitions.model import Resource
from marketscope_platform.topology import DOCUMENTS_BUCKET, ServiceInfo

# Only the notifier reacts to its own new items (a fresh inbox entry or delivery is fanned
# out to WebSocket and webhooks from the table's stream). Every other service publishes
# through the outbox relay, which reads the outbox index, so its table needs no stream.
STREAM_VIEWS: Mapping[str, str] = {"notifier": "NEW_IMAGE"}


def tables(services: Mapping[str, ServiceInfo]) -> list[Resource]:
    return [
        Resource(
            "table",
            info.table,
            {
                "definition": table_definition(info.table, stream_view=STREAM_VIEWS.get(name)),
                "ttl_attribute": TTL_ATTRIBUTE,
            },
        )
        for name, info in services.items()
    ]


def documents_bucket() -> Resource:
    return Resource("bucket", DOCUMENTS_BUCKET, {"versioning": True})
