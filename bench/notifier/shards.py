"""The notifier's alert parts, one set per table, with the symbols dealt out to the tables
(``--symbols-per-table``, 1 by default: a table per symbol).

A quote of one symbol reads and writes only that symbol's partitions (its alerts' index,
its prices, its alerts' streams) and the inboxes of the owners of the alerts it fires, so
on DynamoDB its cost does not depend on what else the table holds. moto deep-copies the
whole table for every action of a ``TransactWriteItems``, and every alert append is one:
with the 10,000 alerts in one table (some 36,000 items), each append would cost over a
second there (measured: 3 ms on an empty table, 154 ms at 5,000 items, 1.35 s at 30,000).
Giving each symbol a table of its own keeps an append at what it costs on a table that
holds only that symbol's items, and the evaluation itself runs unchanged: each table has
the alert parts the service builds for its one table (`AlertRepository`, `PriceWindow`,
`InboxRepository`, `AlertEvaluator`), built the same way on it.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from marketscope_events.store import ensure_table
from marketscope_notifier.alerts.evaluation import AlertEvaluator
from marketscope_notifier.alerts.prices import PriceWindow
from marketscope_notifier.alerts.repository import AlertRepository
from marketscope_notifier.inbox.repository import InboxRepository
from marketscope_notifier.store import open_event_store
from marketscope_servicekit import MetricsRecorder

if TYPE_CHECKING:
    from types_aiobotocore_dynamodb import DynamoDBClient

TABLES_AT_ONCE = 8


@dataclass(frozen=True)
class Shard:
    table: str
    evaluator: AlertEvaluator


def build_shard(dynamodb: DynamoDBClient, table: str, metrics: MetricsRecorder) -> Shard:
    """The alert parts as `marketscope_notifier.components.build_components` builds
    them, on ``table``."""
    store = open_event_store(dynamodb, table)
    repository = AlertRepository(store, dynamodb, table)
    inbox = InboxRepository(dynamodb, table)
    evaluator = AlertEvaluator(repository, PriceWindow(dynamodb, table), inbox, metrics)
    return Shard(table, evaluator)


class Shards:
    def __init__(self, dynamodb: DynamoDBClient, by_symbol: dict[str, Shard]) -> None:
        self._db = dynamodb
        self._by_symbol = by_symbol

    @classmethod
    async def create(
        cls,
        dynamodb: DynamoDBClient,
        symbols: Sequence[str],
        symbols_per_table: int,
        metrics: MetricsRecorder,
    ) -> Shards:
        """Tables in the notifier table's shape (`ensure_table`), made a few at a time."""
        run = uuid.uuid4().hex[:6]
        groups = [
            symbols[start : start + symbols_per_table]
            for start in range(0, len(symbols), symbols_per_table)
        ]
        names = [f"bench-notifier-{run}-{index:04d}" for index in range(len(groups))]
        gate = asyncio.Semaphore(TABLES_AT_ONCE)

        async def make(name: str) -> None:
            async with gate:
                await ensure_table(dynamodb, name)

        await asyncio.gather(*(make(name) for name in names))
        by_symbol: dict[str, Shard] = {}
        for name, group in zip(names, groups, strict=True):
            shard = build_shard(dynamodb, name, metrics)
            by_symbol.update(dict.fromkeys(group, shard))
        return cls(dynamodb, by_symbol)

    @property
    def tables(self) -> list[str]:
        return sorted({shard.table for shard in self._by_symbol.values()})

    def of(self, symbol: str) -> Shard:
        return self._by_symbol[symbol]

    async def drop(self) -> None:
        gate = asyncio.Semaphore(TABLES_AT_ONCE)

        async def remove(name: str) -> None:
            async with gate:
                await self._db.delete_table(TableName=name)

        await asyncio.gather(*(remove(name) for name in self.tables))
