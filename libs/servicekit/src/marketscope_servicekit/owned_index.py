"""An owner's list of a service's resources in its own table: one item per live resource
under ``<prefix>#<owner>``, sorted by when it was made (``sk`` in microseconds), so the
list is one query, newest first, a page at a time.

Each item carries the version of the stream it shows, and a write conditional on it, so
an older view never overwrites a newer one. Items carry ``expires_at``; DynamoDB deletes
expired items late (the emulator never does), so pages leave them out.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from marketscope_events import ConcurrencyError, EventsError
from marketscope_events.aws_errors import error_code
from marketscope_servicekit.errors import DependencyUnavailable, InvalidRequest

if TYPE_CHECKING:
    from types_aiobotocore_dynamodb import DynamoDBClient
    from types_aiobotocore_dynamodb.type_defs import AttributeValueTypeDef, QueryInputTypeDef

Item = dict[str, "AttributeValueTypeDef"]


class InvalidCursor(InvalidRequest):
    """A page cursor this service did not give out."""


@contextmanager
def table_errors(dependency: str = "dynamodb") -> Iterator[None]:
    """The table not answering (or refusing) as a 503 `DependencyUnavailable`; a
    `ConcurrencyError` (another writer got there first) is the caller's to decide on."""
    try:
        yield
    except ConcurrencyError:
        raise
    except (ClientError, BotoCoreError, EventsError) as exc:
        raise DependencyUnavailable(str(exc), dependency=dependency) from exc


def micros(moment: datetime) -> str:
    return str(int(moment.timestamp() * 1_000_000))


def epoch(moment: datetime) -> str:
    return str(int(moment.timestamp()))


def created_at_of(item: Item) -> datetime:
    return datetime.fromtimestamp(int(item["sk"]["N"]) / 1_000_000, UTC)


def expires_at_of(item: Item) -> datetime:
    return datetime.fromtimestamp(int(item["expires_at"]["N"]), UTC)


@dataclass(frozen=True, slots=True)
class OwnedPage:
    items: list[Item]
    next_cursor: str | None


def _encode_cursor(key: Item) -> str:
    return base64.urlsafe_b64encode(json.dumps({"sk": key["sk"]["N"]}).encode()).decode()


def _decode_cursor(cursor: str) -> str:
    """The position a cursor names; the owner always comes from the identity."""
    try:
        sk = json.loads(base64.urlsafe_b64decode(cursor.encode()))["sk"]
        int(sk)
    except (ValueError, KeyError, TypeError) as exc:
        raise InvalidCursor("The cursor is not one this service gave out.") from exc
    return str(sk)


class OwnedIndex:
    def __init__(self, dynamodb: DynamoDBClient, table_name: str, prefix: str) -> None:
        self._db = dynamodb
        self._table = table_name
        self._prefix = prefix

    def _key(self, owner: str, created_at: datetime) -> Item:
        return {"pk": {"S": f"{self._prefix}#{owner}"}, "sk": {"N": micros(created_at)}}

    async def put(
        self,
        owner: str,
        created_at: datetime,
        attributes: Item,
        *,
        version: int,
        expires_at: datetime | None,
    ) -> None:
        item: Item = {
            **self._key(owner, created_at),
            **attributes,
            "stream_version": {"N": str(version)},
        }
        if expires_at is not None:
            item["expires_at"] = {"N": epoch(expires_at)}
        with table_errors():
            try:
                await self._db.put_item(
                    TableName=self._table,
                    Item=item,
                    ConditionExpression="attribute_not_exists(pk) OR stream_version < :v",
                    ExpressionAttributeValues={":v": {"N": str(version)}},
                )
            except ClientError as exc:
                if error_code(exc) != "ConditionalCheckFailedException":
                    raise

    async def delete(self, owner: str, created_at: datetime) -> None:
        with table_errors():
            await self._db.delete_item(TableName=self._table, Key=self._key(owner, created_at))

    async def page(self, owner: str, *, limit: int, cursor: str | None) -> OwnedPage:
        """The owner's unexpired items, newest first, ``limit`` a page."""
        request: QueryInputTypeDef = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk",
            "FilterExpression": "attribute_not_exists(expires_at) OR expires_at > :now",
            "ExpressionAttributeValues": {
                ":pk": {"S": f"{self._prefix}#{owner}"},
                ":now": {"N": str(int(time.time()))},
            },
            "ScanIndexForward": False,
            "Limit": limit,
        }
        if cursor:
            request["ExclusiveStartKey"] = {
                "pk": {"S": f"{self._prefix}#{owner}"},
                "sk": {"N": _decode_cursor(cursor)},
            }
        items: list[Item] = []
        last_key: Item | None = None
        # A filtered page may come back short: read on until it is full or the end.
        while len(items) < limit:
            with table_errors():
                response = await self._db.query(**request)
            for item in response.get("Items", []):
                if len(items) < limit:
                    items.append(item)
                    last_key = {"pk": item["pk"], "sk": item["sk"]}
            if "LastEvaluatedKey" not in response:
                last_key = None if len(items) < limit else last_key
                break
            request["ExclusiveStartKey"] = response["LastEvaluatedKey"]
        return OwnedPage(items, None if last_key is None else _encode_cursor(last_key))
