"""The notifier service's own table (``Settings.table_name``, ``marketscope-notifier``), in
the event-store shape every service's table has (`marketscope_events.store.table`).

It holds the service's event streams with their outbox markers, which the outbox relay
publishes; no other service reads or writes it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from marketscope_events import DynamoDBEventStore

if TYPE_CHECKING:
    from types_aiobotocore_dynamodb import DynamoDBClient


def open_event_store(dynamodb: DynamoDBClient, table_name: str) -> DynamoDBEventStore:
    """The event store on the notifier table; opening it makes no AWS call."""
    return DynamoDBEventStore(dynamodb, table_name)
