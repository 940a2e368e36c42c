"""MarketScope's event backbone: envelope, catalog, event store, outbox, publisher, consumer."""

from marketscope_events.catalog import CATALOG, Catalog, DecodedEvent, EventData
from marketscope_events.consuming import (
    ConsumerSettings,
    DynamoDBIdempotencyStore,
    InMemoryIdempotencyStore,
    MessageReport,
    Outcome,
    SqsConsumer,
)
from marketscope_events.envelope import Envelope, EventType
from marketscope_events.errors import (
    ConcurrencyError,
    EventsError,
    MalformedEnvelopeError,
    TerminalHandlerError,
    TransientHandlerError,
    UnknownEventTypeError,
)
from marketscope_events.outbox import OutboxRelay
from marketscope_events.publishing import SnsPublisher, TopicDirectory
from marketscope_events.store import (
    DynamoDBEventStore,
    EventStore,
    InMemoryEventStore,
    Snapshot,
    ensure_table,
)

__all__ = [
    "CATALOG",
    "Catalog",
    "ConcurrencyError",
    "ConsumerSettings",
    "DecodedEvent",
    "DynamoDBEventStore",
    "DynamoDBIdempotencyStore",
    "Envelope",
    "EventData",
    "EventStore",
    "EventType",
    "EventsError",
    "InMemoryEventStore",
    "InMemoryIdempotencyStore",
    "MalformedEnvelopeError",
    "MessageReport",
    "OutboxRelay",
    "Outcome",
    "Snapshot",
    "SnsPublisher",
    "SqsConsumer",
    "TerminalHandlerError",
    "TopicDirectory",
    "TransientHandlerError",
    "UnknownEventTypeError",
    "ensure_table",
]
