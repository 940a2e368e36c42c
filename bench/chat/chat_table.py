"""The chat's table on the emulator, emptied after each measured turn.

moto deep-copies the whole table on every ``TransactWriteItems``, and every turn appends
to its conversation's stream that way (the question before the first event, the answer
at the end): left alone, a turn would cost more with every turn stored before it (a
median answer went from 186 to 307 ms over three passes of 30), which real DynamoDB does
not do. Every turn of the benchmark is in a conversation of its own, never read again,
so emptying the table between turns loses nothing the next turn needs; the usage ledger
goes with it, which no turn reads either (the daily budget is set out of reach).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from types_aiobotocore_dynamodb import DynamoDBClient

BATCH = 25  # BatchWriteItem's limit


class ChatTable:
    def __init__(self, dynamodb: DynamoDBClient, table_name: str) -> None:
        self._db = dynamodb
        self._name = table_name
        self._keys: list[str] | None = None
        self.items_cleared = 0

    async def _key_names(self) -> list[str]:
        if self._keys is None:
            table = (await self._db.describe_table(TableName=self._name))["Table"]
            self._keys = [key["AttributeName"] for key in table["KeySchema"]]
        return self._keys

    async def clear(self) -> None:
        names = await self._key_names()
        placeholders = {f"#k{i}": name for i, name in enumerate(names)}
        keys: list[dict[str, Any]] = []
        scan: dict[str, Any] = {
            "TableName": self._name,
            "ProjectionExpression": ", ".join(placeholders),
            "ExpressionAttributeNames": placeholders,
        }
        while True:
            page = await self._db.scan(**scan)
            keys += page.get("Items", [])
            if "LastEvaluatedKey" not in page:
                break
            scan["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        for start in range(0, len(keys), BATCH):
            requests: Any = [{"DeleteRequest": {"Key": key}} for key in keys[start : start + BATCH]]
            while requests:
                done = await self._db.batch_write_item(RequestItems={self._name: requests})
                requests = done.get("UnprocessedItems", {}).get(self._name, [])
        self.items_cleared += len(keys)
