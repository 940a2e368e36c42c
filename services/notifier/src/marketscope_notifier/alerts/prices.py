"""Recent prices per symbol, for the alerts that compare a price with the one at the start
of a window (``moving_up_pct``, ``moving_down_pct``): ``Prices#<SYMBOL>`` / ``sk`` = the
market time in seconds, kept for the longest window there is (30 days) and a day more.
Written once per QuoteUpdated of a symbol that has alerts, whatever their number."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from marketscope_notifier.alerts.conditions import MAX_WINDOW_SECONDS
from marketscope_servicekit.owned_index import table_errors

if TYPE_CHECKING:
    from types_aiobotocore_dynamodb import DynamoDBClient

KEEP = timedelta(seconds=MAX_WINDOW_SECONDS) + timedelta(days=1)


class PriceWindow:
    def __init__(self, dynamodb: DynamoDBClient, table_name: str) -> None:
        self._db = dynamodb
        self._table = table_name

    async def record(self, symbol: str, price: float, as_of: datetime) -> None:
        expires = datetime.now(UTC) + KEEP
        with table_errors():
            await self._db.put_item(
                TableName=self._table,
                Item={
                    "pk": {"S": f"Prices#{symbol}"},
                    "sk": {"N": str(int(as_of.timestamp()))},
                    "price": {"N": repr(price)},
                    "expires_at": {"N": str(int(expires.timestamp()))},
                },
            )

    async def latest(self, symbol: str) -> datetime | None:
        """The market time of the newest price recorded for the symbol."""
        with table_errors():
            response = await self._db.query(
                TableName=self._table,
                KeyConditionExpression="pk = :pk",
                ExpressionAttributeValues={":pk": {"S": f"Prices#{symbol}"}},
                ScanIndexForward=False,
                Limit=1,
                ConsistentRead=True,
            )
        items = response.get("Items", [])
        return datetime.fromtimestamp(int(items[0]["sk"]["N"]), UTC) if items else None

    async def at(self, symbol: str, moment: datetime) -> float | None:
        """The last price recorded at or before ``moment``; None when there is none yet."""
        with table_errors():
            response = await self._db.query(
                TableName=self._table,
                KeyConditionExpression="pk = :pk AND sk <= :at",
                ExpressionAttributeValues={
                    ":pk": {"S": f"Prices#{symbol}"},
                    ":at": {"N": str(int(moment.timestamp()))},
                },
                ScanIndexForward=False,
                Limit=1,
                ConsistentRead=True,
            )
        items = response.get("Items", [])
        return float(items[0]["price"]["N"]) if items else None
