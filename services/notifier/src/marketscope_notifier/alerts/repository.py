"""Alerts in the notifier table: ``Alert#<id>`` streams and the two views beside them.

- ``AlertsBySymbol#<SYMBOL>`` / ``sk`` = when the alert was made (microseconds): one item
  per alert that evaluates
  prices (active), holding what evaluating needs (owner, condition, frequency, evaluation
  state, expiry) and the stream version it shows. A QuoteUpdated reads one partition:
  that symbol's alerts, nothing else; the streams are read only when an alert changes.
- ``Alerts#<owner>`` / ``sk`` = when the alert was made: the owner's list.

Both are rewritten after every append of the alert; the stream stays the truth.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING

from marketscope_events import CATALOG, ConcurrencyError, Envelope, EventStore, StreamRepository
from marketscope_events.streams.repository import Loaded
from marketscope_notifier.alerts.conditions import describe
from marketscope_notifier.alerts.state import AlertState, fold, from_json, stream_id, to_json
from marketscope_notifier.errors import AlertConflict
from marketscope_servicekit.owned_index import (
    Item,
    OwnedIndex,
    OwnedPage,
    micros,
    table_errors,
)

if TYPE_CHECKING:
    from types_aiobotocore_dynamodb import DynamoDBClient

PUBLISHED = frozenset(CATALOG.specs)


def _symbol_key(state: AlertState) -> Item:
    return {"pk": {"S": f"AlertsBySymbol#{state.symbol}"}, "sk": {"N": micros(state.created_at)}}


class AlertRepository:
    def __init__(self, store: EventStore, dynamodb: DynamoDBClient, table_name: str) -> None:
        self._streams = StreamRepository[AlertState](store, fold, catalog=CATALOG)
        self._db = dynamodb
        self._table = table_name
        self._owned = OwnedIndex(dynamodb, table_name, "Alerts")

    async def load(
        self, alert_id: str, *, known: Loaded[AlertState] | None = None
    ) -> Loaded[AlertState] | None:
        with table_errors():
            return await self._streams.load(stream_id(alert_id), known=known)

    async def append(
        self, loaded: Loaded[AlertState] | None, alert_id: str, events: Sequence[Envelope]
    ) -> Loaded[AlertState]:
        """Append after ``loaded`` (`AlertConflict` when the stream moved on), through the
        outbox when the events are published ones, then bring both views up to date."""
        names = {CATALOG.decode(envelope).envelope.event_type.name for envelope in events}
        publish = bool(names & PUBLISHED)
        if publish and not names <= PUBLISHED:
            raise ValueError(f"one append publishes all its events or none: {sorted(names)}")
        version = 0 if loaded is None else loaded.version
        try:
            with table_errors():
                stored = await self._streams.append(
                    stream_id(alert_id), events, expected_version=version, publish=publish
                )
        except ConcurrencyError as exc:
            raise AlertConflict(alert_id) from exc
        state = None if loaded is None else loaded.state
        for envelope in stored:
            state = fold(state, CATALOG.decode(envelope))
        assert state is not None
        updated = Loaded(state, version + len(stored))
        await self._write_views(updated)
        return updated

    async def _write_views(self, loaded: Loaded[AlertState]) -> None:
        state, version = loaded.state, loaded.version
        key = _symbol_key(state)
        with table_errors():
            if state.evaluating:
                await self._db.put_item(
                    TableName=self._table,
                    Item={
                        **key,
                        "state": {"S": json.dumps(to_json(state), separators=(",", ":"))},
                        "stream_version": {"N": str(version)},
                    },
                )
            else:
                await self._db.delete_item(TableName=self._table, Key=key)
        if state.status == "deleted":
            await self._owned.delete(state.owner, state.created_at)
            return
        await self._owned.put(
            state.owner,
            state.created_at,
            {
                "alert_id": {"S": state.id},
                "symbol": {"S": state.symbol},
                "status": {"S": state.status},
                "description": {"S": describe(state.condition)},
                "updated_at": {"S": state.updated_at.isoformat()},
            },
            version=version,
            expires_at=None,
        )

    async def candidates(self, symbol: str) -> list[Loaded[AlertState]]:
        """The symbol's active alerts as their index items hold them, each at the stream
        version it shows (an append at it fails if the stream moved on since)."""
        request = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": {"S": f"AlertsBySymbol#{symbol}"}},
            "ConsistentRead": True,
        }
        found: list[Loaded[AlertState]] = []
        while True:
            with table_errors():
                response = await self._db.query(**request)  # type: ignore[arg-type]
            found += [
                Loaded(from_json(json.loads(item["state"]["S"])), int(item["stream_version"]["N"]))
                for item in response.get("Items", [])
            ]
            if "LastEvaluatedKey" not in response:
                return found
            request["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    async def list_owned(self, owner: str, *, limit: int, cursor: str | None) -> OwnedPage:
        return await self._owned.page(owner, limit=limit, cursor=cursor)
