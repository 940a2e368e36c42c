"""Tables split by event id: an emulator artefact's workaround, not a platform feature.

moto deep-copies every table a TransactWriteItems touches (to roll back on failure), so a
transaction costs time in proportion to the items already in its tables: at 10,000 items
a copy took 265 ms here. The handlers' transaction touches the ledger and the idempotency
records, so each consumer spreads both over ``--shards`` tables by a hash of the event
id; on real DynamoDB one table each would do.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from marketscope_events import DynamoDBIdempotencyStore
from marketscope_events.consuming import IdempotencyStore


def shard_of(key: str, tables: Sequence[str]) -> str:
    return tables[zlib.crc32(key.encode()) % len(tables)]


class ShardedIdempotencyStore(IdempotencyStore):
    """One `DynamoDBIdempotencyStore` per table; each event id always goes to the same."""

    def __init__(self, dynamodb: Any, tables: Sequence[str]) -> None:
        self._tables = list(tables)
        self._stores = {name: DynamoDBIdempotencyStore(dynamodb, name) for name in tables}

    def _store(self, event_id: str) -> DynamoDBIdempotencyStore:
        return self._stores[shard_of(event_id, self._tables)]

    async def begin(self, consumer: str, event_id: str, *, claim_for: timedelta) -> str:
        return await self._store(event_id).begin(consumer, event_id, claim_for=claim_for)

    async def extend(
        self, consumer: str, event_id: str, *, claim_for: timedelta, owner: str | None = None
    ) -> None:
        await self._store(event_id).extend(consumer, event_id, claim_for=claim_for, owner=owner)

    async def complete(self, consumer: str, event_id: str, *, keep_for: timedelta) -> None:
        await self._store(event_id).complete(consumer, event_id, keep_for=keep_for)

    async def release(self, consumer: str, event_id: str, *, owner: str | None = None) -> None:
        await self._store(event_id).release(consumer, event_id, owner=owner)

    def completion_write(
        self, consumer: str, event_id: str, *, owner: str, keep_for: timedelta
    ) -> Any:
        return self._store(event_id).completion_write(
            consumer, event_id, owner=owner, keep_for=keep_for
        )
