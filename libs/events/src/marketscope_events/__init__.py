"""MarketScope's event backbone: envelope, catalog, event store, outbox, publisher, consumer."""

from marketscope_events.catalog import CATALOG, Catalog, DecodedEvent, EventData
from marketscope_events.consuming import (
    ConsumerSettings,
    DynamoDBIdempotencyStore,
    Handling,
    InMemoryIdempotencyStore,
    MessageReport,
    Outcome,
    RawMessage,
    RawRoute,
    SqsConsumer,
    current_handling,
)
from marketscope_events.envelope import Envelope, EventType
from marketscope_events.errors import (
    ConcurrencyError,
    EventsError,
    EventStoreError,
    MalformedEnvelopeError,
    TerminalHandlerError,
    TransientHandlerError,
    UnknownEventTypeError,
    UnpublishedEventError,
)
from marketscope_events.outbox import OutboxRelay
from marketscope_events.publishing import LazySnsPublisher, SnsPublisher, TopicDirectory
from marketscope_events.store import (
    DynamoDBEventStore,
    EventStore,
    InMemoryEventStore,
    Snapshot,
    ensure_table,
)
from marketscope_events.streams import Loaded, StreamRepository

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
    "EventStoreError",
    "EventType",
    "EventsError",
    "Handling",
    "InMemoryEventStore",
    "InMemoryIdempotencyStore",
    "LazySnsPublisher",
    "Loaded",
    "MalformedEnvelopeError",
    "MessageReport",
    "OutboxRelay",
    "Outcome",
    "RawMessage",
    "RawRoute",
    "Snapshot",
    "SnsPublisher",
    "SqsConsumer",
    "StreamRepository",
    "TerminalHandlerError",
    "TopicDirectory",
    "TransientHandlerError",
    "UnknownEventTypeError",
    "UnpublishedEventError",
    "current_handling",
    "ensure_table",
]
