"""The service's items on its own table, next to the quote streams: cache items
(``Cache#<key>``) and watchlists (``Watchlist#<owner>``), each at ``sk = 0``.

``expires_at`` (epoch seconds) is the table's TTL attribute. DynamoDB deletes expired
items late (the emulator never does), so every read here ignores them itself.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from marketscope_events.timeutil import Clock, utc_now
from marketscope_market_data.errors import StoreUnavailable
from marketscope_market_data.schemas import Watchlist

CACHE_PREFIX = "Cache#"
WATCHLIST_PREFIX = "Watchlist#"


@dataclass(frozen=True)
class CacheItem:
    value: str
    fresh_until: float
    expires_at: float


class _Table:
    def __init__(self, dynamodb: Any, table_name: str, clock: Clock) -> None:
        self._db = dynamodb
        self._table = table_name
        self._clock = clock

    async def _call(self, operation: str, **kwargs: Any) -> Any:
        try:
            return await getattr(self._db, operation)(TableName=self._table, **kwargs)
        except (ClientError, BotoCoreError) as exc:
            raise StoreUnavailable(f"{operation} on {self._table} failed: {exc}") from exc


class CacheItemStore(_Table):
    async def get(self, key: str) -> CacheItem | None:
        response = await self._call(
            "get_item", Key={"pk": {"S": CACHE_PREFIX + key}, "sk": {"N": "0"}}
        )
        item = response.get("Item")
        if item is None:
            return None
        expires_at = float(item["expires_at"]["N"])
        if expires_at <= self._clock().timestamp():
            return None
        return CacheItem(item["value"]["S"], float(item["fresh_until"]["N"]), expires_at)

    async def put(self, key: str, item: CacheItem) -> None:
        await self._call(
            "put_item",
            Item={
                "pk": {"S": CACHE_PREFIX + key},
                "sk": {"N": "0"},
                "value": {"S": item.value},
                "fresh_until": {"N": f"{item.fresh_until:.3f}"},
                "expires_at": {"N": str(int(item.expires_at))},
            },
        )


class WatchlistRepository(_Table):
    """One item per owner; no TTL (a watchlist lives until replaced)."""

    def __init__(self, dynamodb: Any, table_name: str, *, clock: Clock = utc_now) -> None:
        super().__init__(dynamodb, table_name, clock)

    async def get(self, owner: str) -> Watchlist | None:
        response = await self._call(
            "get_item",
            Key={"pk": {"S": WATCHLIST_PREFIX + owner}, "sk": {"N": "0"}},
            ConsistentRead=True,
        )
        item = response.get("Item")
        if item is None:
            return None
        return Watchlist(
            owner=owner,
            symbols=json.loads(item["symbols"]["S"]),
            updated_at=datetime.fromisoformat(item["updated_at"]["S"]),
        )

    async def put(self, owner: str, symbols: list[str]) -> Watchlist:
        watchlist = Watchlist(owner=owner, symbols=symbols, updated_at=self._clock())
        await self._call(
            "put_item",
            Item={
                "pk": {"S": WATCHLIST_PREFIX + owner},
                "sk": {"N": "0"},
                "symbols": {"S": json.dumps(symbols)},
                "updated_at": {"S": self._clock().isoformat()},
            },
        )
        return watchlist

    async def watched_symbols(self) -> set[str]:
        """Every symbol on any watchlist: a filtered scan, paid once per refresh."""
        symbols: set[str] = set()
        kwargs: dict[str, Any] = {
            "FilterExpression": "begins_with(pk, :prefix)",
            "ExpressionAttributeValues": {":prefix": {"S": WATCHLIST_PREFIX}},
            "ProjectionExpression": "symbols",
        }
        while True:
            response = await self._call("scan", **kwargs)
            for item in response.get("Items", []):
                symbols.update(json.loads(item["symbols"]["S"]))
            if not response.get("LastEvaluatedKey"):
                return symbols
            kwargs["ExclusiveStartKey"] = response["LastEvaluatedKey"]
