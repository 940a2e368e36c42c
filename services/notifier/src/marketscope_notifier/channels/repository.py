"""Channels and deliveries in the notifier table.

- ``Channels#<owner>`` / sk from the channel id: one item per channel, so a user's
  channels are one query (routing a notification reads them all).
- ``Deliveries#<channel id>`` / sk from the delivery id (the notification's id, or a test
  event's): one item per notification and channel, created only if absent, so a
  notification is delivered to a channel once; its attempts are the deliveries log.

Each item holds its record as JSON with a version; a save is conditional on the version
read, so two writers never overwrite each other (`ConcurrencyError`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, TypeVar

from botocore.exceptions import ClientError
from pydantic import BaseModel

from marketscope_events import ConcurrencyError
from marketscope_events.aws_errors import error_code
from marketscope_notifier.channels.records import ChannelRecord, DeliveryRecord
from marketscope_notifier.errors import ChannelNotFound, DeliveryNotFound
from marketscope_notifier.ids import UnknownId, sort_key_of
from marketscope_notifier.pages import newest_first
from marketscope_servicekit.owned_index import Item, table_errors

if TYPE_CHECKING:
    from types_aiobotocore_dynamodb import DynamoDBClient

CHANNEL_PREFIX = "chn_"
DELIVERY_PREFIXES = ("ntf_", "tst_")
RecordT = TypeVar("RecordT", bound=BaseModel)


def channel_key(owner: str, channel_id: str) -> Item:
    try:
        sk = sort_key_of(channel_id, CHANNEL_PREFIX)
    except UnknownId as exc:
        raise ChannelNotFound(channel_id) from exc
    return {"pk": {"S": f"Channels#{owner}"}, "sk": {"N": str(sk)}}


def delivery_key(channel_id: str, delivery_id: str) -> Item:
    try:
        if delivery_id[:4] not in DELIVERY_PREFIXES:
            raise UnknownId(delivery_id)
        sk = sort_key_of(delivery_id, delivery_id[:4])
    except UnknownId as exc:
        raise DeliveryNotFound(delivery_id) from exc
    return {"pk": {"S": f"Deliveries#{channel_id}"}, "sk": {"N": str(sk)}}


@contextmanager
def _conditional(key: Item, version: int) -> Iterator[None]:
    """A failed condition as `ConcurrencyError`; the table not answering as a 503."""
    with table_errors():
        try:
            yield
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                where = f"{key['pk'].get('S')}/{key['sk'].get('N')}"
                raise ConcurrencyError(where, version - 1) from exc
            raise


def _record(item: Item, model: type[RecordT]) -> RecordT:
    """The record an item holds, at the item's version."""
    record = model.model_validate_json(item["record"]["S"])
    return record.model_copy(update={"version": int(item["version"]["N"])})


class ChannelRepository:
    def __init__(self, dynamodb: DynamoDBClient, table_name: str) -> None:
        self._db = dynamodb
        self._table = table_name

    async def _put(self, key: Item, record: BaseModel, version: int) -> None:
        """Write ``record`` as ``version``: new when 0, else over ``version - 1``."""
        item: Item = {
            **key,
            "record": {"S": record.model_dump_json()},
            "version": {"N": str(version)},
        }
        with _conditional(key, version):
            if version == 1:
                await self._db.put_item(
                    TableName=self._table, Item=item, ConditionExpression="attribute_not_exists(pk)"
                )
            else:
                await self._db.put_item(
                    TableName=self._table,
                    Item=item,
                    ConditionExpression="version = :read",
                    ExpressionAttributeValues={":read": {"N": str(version - 1)}},
                )

    async def _get(self, key: Item, model: type[RecordT]) -> RecordT | None:
        with table_errors():
            response = await self._db.get_item(TableName=self._table, Key=key, ConsistentRead=True)
        item = response.get("Item")
        return None if item is None else _record(item, model)

    # Channels

    async def create(self, channel: ChannelRecord) -> ChannelRecord:
        saved = channel.model_copy(update={"version": 1})
        await self._put(channel_key(channel.owner, channel.channel_id), saved, 1)
        return saved

    async def save(self, channel: ChannelRecord) -> ChannelRecord:
        """Write the changed ``channel`` over the version it was read at."""
        saved = channel.model_copy(update={"version": channel.version + 1})
        key = channel_key(channel.owner, channel.channel_id)
        await self._put(key, saved, saved.version)
        return saved

    async def get(self, owner: str, channel_id: str) -> ChannelRecord:
        channel = await self._get(channel_key(owner, channel_id), ChannelRecord)
        if channel is None:
            raise ChannelNotFound(channel_id)
        return channel

    async def find(self, owner: str, channel_id: str) -> ChannelRecord | None:
        try:
            return await self.get(owner, channel_id)
        except ChannelNotFound:
            return None

    async def of_owner(self, owner: str) -> list[ChannelRecord]:
        """Every channel of ``owner``, newest first."""
        channels: list[ChannelRecord] = []
        cursor: str | None = None
        while True:
            page = await newest_first(
                self._db, self._table, f"Channels#{owner}", limit=100, cursor=cursor
            )
            channels += [_record(item, ChannelRecord) for item in page.items]
            if page.next_cursor is None:
                return channels
            cursor = page.next_cursor

    async def delete(self, owner: str, channel_id: str) -> None:
        with table_errors():
            await self._db.delete_item(TableName=self._table, Key=channel_key(owner, channel_id))

    # Deliveries

    async def add_delivery(self, delivery: DeliveryRecord) -> DeliveryRecord | None:
        """Record a new delivery; None when the pair (channel, delivery) exists already."""
        saved = delivery.model_copy(update={"version": 1})
        try:
            key = delivery_key(delivery.channel_id, delivery.delivery_id)
            await self._put(key, saved, 1)
        except ConcurrencyError:
            return None
        return saved

    async def save_delivery(self, delivery: DeliveryRecord) -> DeliveryRecord:
        saved = delivery.model_copy(update={"version": delivery.version + 1})
        key = delivery_key(delivery.channel_id, delivery.delivery_id)
        await self._put(key, saved, saved.version)
        return saved

    async def delivery(self, channel_id: str, delivery_id: str) -> DeliveryRecord:
        found = await self._get(delivery_key(channel_id, delivery_id), DeliveryRecord)
        if found is None:
            raise DeliveryNotFound(delivery_id)
        return found

    async def deliveries(
        self, channel_id: str, *, limit: int, cursor: str | None
    ) -> tuple[list[DeliveryRecord], str | None]:
        """The channel's deliveries, newest first, a page at a time."""
        page = await newest_first(
            self._db, self._table, f"Deliveries#{channel_id}", limit=limit, cursor=cursor
        )
        return [_record(item, DeliveryRecord) for item in page.items], page.next_cursor
