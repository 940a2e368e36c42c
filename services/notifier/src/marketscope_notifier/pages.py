"""One page of a partition of the notifier table, newest first, with an opaque cursor:
the inbox and the deliveries log read their lists this way."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from marketscope_servicekit.owned_index import InvalidCursor, Item, table_errors

if TYPE_CHECKING:
    from types_aiobotocore_dynamodb import DynamoDBClient
    from types_aiobotocore_dynamodb.type_defs import AttributeValueTypeDef, QueryInputTypeDef


@dataclass(frozen=True, slots=True)
class Filter:
    """A DynamoDB filter expression with its names and values."""

    expression: str
    names: dict[str, str]
    values: dict[str, AttributeValueTypeDef]


@dataclass(frozen=True, slots=True)
class ItemPage:
    items: list[Item]
    next_cursor: str | None


async def newest_first(
    db: DynamoDBClient,
    table: str,
    pk: str,
    *,
    limit: int,
    cursor: str | None,
    where: Filter | None = None,
) -> ItemPage:
    """Up to ``limit`` items of partition ``pk`` (after ``cursor``), newest first. With a
    filter, queries go on until the page is full or the partition ends."""
    values: dict[str, AttributeValueTypeDef] = {":pk": {"S": pk}}
    request: QueryInputTypeDef = {
        "TableName": table,
        "KeyConditionExpression": "pk = :pk",
        "ExpressionAttributeValues": values,
        "ScanIndexForward": False,
        "Limit": limit,
    }
    if where is not None:
        request["FilterExpression"] = where.expression
        request["ExpressionAttributeNames"] = where.names
        values.update(where.values)
    if cursor:
        request["ExclusiveStartKey"] = {"pk": {"S": pk}, "sk": {"N": decode_cursor(cursor)}}
    items: list[Item] = []
    last: str | None = None
    while len(items) < limit:
        with table_errors():
            response = await db.query(**request)
        for item in response.get("Items", []):
            if len(items) < limit:
                items.append(item)
                last = item["sk"]["N"]
        if "LastEvaluatedKey" not in response:
            last = None if len(items) < limit else last
            break
        request["ExclusiveStartKey"] = response["LastEvaluatedKey"]
    return ItemPage(items, None if last is None else encode_cursor(last))


async def count(db: DynamoDBClient, table: str, pk: str, where: Filter) -> int:
    """How many items of partition ``pk`` pass ``where``."""
    request: QueryInputTypeDef = {
        "TableName": table,
        "KeyConditionExpression": "pk = :pk",
        "FilterExpression": where.expression,
        "ExpressionAttributeNames": where.names,
        "ExpressionAttributeValues": {":pk": {"S": pk}, **where.values},
        "Select": "COUNT",
    }
    total = 0
    while True:
        with table_errors():
            response = await db.query(**request)
        total += response.get("Count", 0)
        if "LastEvaluatedKey" not in response:
            return total
        request["ExclusiveStartKey"] = response["LastEvaluatedKey"]


def encode_cursor(sort_key: str) -> str:
    return base64.urlsafe_b64encode(json.dumps({"after": sort_key}).encode()).decode()


def decode_cursor(cursor: str) -> str:
    try:
        after: Any = json.loads(base64.urlsafe_b64decode(cursor.encode()))["after"]
        int(after)
    except (ValueError, KeyError, TypeError) as exc:
        raise InvalidCursor("The cursor is not one this service gave out.") from exc
    return str(after)
