"""Consuming events (and raw messages) from SQS."""

from marketscope_events.consuming.consumer import (
    ConsumerSettings,
    Handler,
    NoHandlerError,
    SqsConsumer,
)
from marketscope_events.consuming.handling import Handling, current_handling
from marketscope_events.consuming.idempotency import (
    DynamoDBIdempotencyStore,
    IdempotencyStore,
    InMemoryIdempotencyStore,
)
from marketscope_events.consuming.raw import RawHandler, RawMessage, RawRoute, unwrap_sns
from marketscope_events.consuming.reports import MessageReport, Outcome

__all__ = [
    "ConsumerSettings",
    "DynamoDBIdempotencyStore",
    "Handler",
    "Handling",
    "IdempotencyStore",
    "InMemoryIdempotencyStore",
    "MessageReport",
    "NoHandlerError",
    "Outcome",
    "RawHandler",
    "RawMessage",
    "RawRoute",
    "SqsConsumer",
    "current_handling",
    "unwrap_sns",
]
