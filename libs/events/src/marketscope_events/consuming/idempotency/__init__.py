"""Idempotency records per (consumer, event id)."""

from marketscope_events.consuming.idempotency.base import IdempotencyStore
from marketscope_events.consuming.idempotency.dynamodb import DynamoDBIdempotencyStore
from marketscope_events.consuming.idempotency.memory import InMemoryIdempotencyStore

__all__ = ["DynamoDBIdempotencyStore", "IdempotencyStore", "InMemoryIdempotencyStore"]
