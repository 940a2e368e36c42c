"""DynamoDB tables (one per service, the event-store shape) and the documents bucket."""

from __future__ import annotations

from collections.abc import Mapping

from marketscope_events.store.table import TTL_ATTRIBUTE, table_definition
from marketscope_infra.definitions.model import Resource
from marketscope_platform.topology import DOCUMENTS_BUCKET, ServiceInfo


def tables(services: Mapping[str, ServiceInfo]) -> list[Resource]:
    # No table has a DynamoDB stream: every service publishes through its outbox relay,
    # which reads the outbox index, so a stream would be paid for and never read.
    return [
        Resource(
            "table",
            info.table,
            {"definition": table_definition(info.table), "ttl_attribute": TTL_ATTRIBUTE},
        )
        for info in services.values()
    ]


def documents_bucket() -> Resource:
    return Resource("bucket", DOCUMENTS_BUCKET, {"versioning": True})
