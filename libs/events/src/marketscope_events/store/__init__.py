"""Event store port and its adapters."""

from marketscope_events.store.base import EventStore, OutboxEntry, Snapshot
from marketscope_events.store.dynamodb import DynamoDBEventStore
from marketscope_events.store.memory import InMemoryEventStore
from marketscope_events.store.table import ensure_table, table_definition

__all__ = [
    "DynamoDBEventStore",
    "EventStore",
    "InMemoryEventStore",
    "OutboxEntry",
    "Snapshot",
    "ensure_table",
    "table_definition",
]
