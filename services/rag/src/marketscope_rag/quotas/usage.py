"""Each owner's usage, counted in the rag table: ``Usage#<owner>`` / ``sk`` 0 holds
``stored_bytes`` (every stored version of the owner's live documents, since S3 keeps
them all until the document is deleted) and ``indexed_chunks`` (the chunks of each
document's indexed version).

A write that adds usage is one conditional ``UpdateItem`` (``ADD`` if the total stays
within the quota): DynamoDB applies updates of one item one at a time, so concurrent
uploads cannot take an owner past a quota at all. Usage is reserved before the work it
pays for (storing bytes, embedding chunks) and handed back when that work fails; a crash
in between leaves the counter high, never low, so the error is on the owner's side of the
limit and is cleared by deleting documents. Counters never go below zero (documents
uploaded before quotas were counted release nothing they never reserved).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from marketscope_events.aws_errors import error_code
from marketscope_rag.errors import (
    ChunkQuotaExceededError,
    StorageQuotaExceededError,
    StorageUnavailableError,
)

if TYPE_CHECKING:
    from types_aiobotocore_dynamodb import DynamoDBClient
    from types_aiobotocore_dynamodb.type_defs import AttributeValueTypeDef

BYTES = "stored_bytes"
CHUNKS = "indexed_chunks"
_LOST_CONDITION = "ConditionalCheckFailedException"


@dataclass(frozen=True)
class Usage:
    stored_bytes: int = 0
    indexed_chunks: int = 0


@dataclass(frozen=True)
class Quotas:
    storage_bytes: int
    chunks: int


class QuotaExceeded(Exception):
    """Internal: the conditional add was refused."""


@contextmanager
def _storage_errors() -> Iterator[None]:
    try:
        yield
    except (ClientError, BotoCoreError) as exc:
        raise StorageUnavailableError(str(exc), dependency="dynamodb") from exc


class UsageLedger:
    def __init__(self, dynamodb: DynamoDBClient, table_name: str, quotas: Quotas) -> None:
        self._db = dynamodb
        self._table = table_name
        self.quotas = quotas

    @staticmethod
    def _key(owner: str) -> dict[str, AttributeValueTypeDef]:
        return {"pk": {"S": f"Usage#{owner}"}, "sk": {"N": "0"}}

    async def usage(self, owner: str) -> Usage:
        with _storage_errors():
            response = await self._db.get_item(
                TableName=self._table, Key=self._key(owner), ConsistentRead=True
            )
        item = response.get("Item", {})
        return Usage(
            stored_bytes=int(item.get(BYTES, {}).get("N", "0")),
            indexed_chunks=int(item.get(CHUNKS, {}).get("N", "0")),
        )

    async def _add_within(self, owner: str, attribute: str, amount: int, limit: int) -> None:
        """Add ``amount`` if the total stays at most ``limit``; `QuotaExceeded` if not."""
        if amount > limit:
            raise QuotaExceeded
        try:
            await self._db.update_item(
                TableName=self._table,
                Key=self._key(owner),
                UpdateExpression="ADD #usage :amount",
                ConditionExpression="attribute_not_exists(#usage) OR #usage <= :room",
                ExpressionAttributeNames={"#usage": attribute},
                ExpressionAttributeValues={
                    ":amount": {"N": str(amount)},
                    ":room": {"N": str(limit - amount)},
                },
            )
        except ClientError as exc:
            if error_code(exc) == _LOST_CONDITION:
                raise QuotaExceeded from exc
            raise StorageUnavailableError(str(exc), dependency="dynamodb") from exc
        except BotoCoreError as exc:
            raise StorageUnavailableError(str(exc), dependency="dynamodb") from exc

    async def _subtract(self, owner: str, attribute: str, amount: int) -> None:
        """Take ``amount`` off, stopping at zero."""
        if amount <= 0:
            return
        names = {"#usage": attribute}
        values: dict[str, AttributeValueTypeDef] = {":amount": {"N": str(amount)}}
        try:
            await self._db.update_item(
                TableName=self._table,
                Key=self._key(owner),
                UpdateExpression="ADD #usage :minus",
                ConditionExpression="#usage >= :amount",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues={**values, ":minus": {"N": str(-amount)}},
            )
            return
        except ClientError as exc:
            if error_code(exc) != _LOST_CONDITION:
                raise StorageUnavailableError(str(exc), dependency="dynamodb") from exc
        except BotoCoreError as exc:
            raise StorageUnavailableError(str(exc), dependency="dynamodb") from exc
        with _storage_errors():  # less than ``amount`` was counted: none is left
            try:
                await self._db.update_item(
                    TableName=self._table,
                    Key=self._key(owner),
                    UpdateExpression="SET #usage = :zero",
                    ConditionExpression="attribute_not_exists(#usage) OR #usage < :amount",
                    ExpressionAttributeNames=names,
                    ExpressionAttributeValues={**values, ":zero": {"N": "0"}},
                )
            except ClientError as exc:
                if error_code(exc) != _LOST_CONDITION:  # raised meanwhile: retry
                    raise
                await self._subtract(owner, attribute, amount)

    @asynccontextmanager
    async def storing(self, owner: str, size_bytes: int) -> AsyncIterator[StorageReservation]:
        """Reserve ``size_bytes`` of the owner's storage for the block; unless the block
        calls `StorageReservation.keep`, the bytes are handed back when it ends."""
        limit = self.quotas.storage_bytes
        try:
            await self._add_within(owner, BYTES, size_bytes, limit)
        except QuotaExceeded:
            used = (await self.usage(owner)).stored_bytes
            raise StorageQuotaExceededError(limit=limit, used=used, requested=size_bytes) from None
        reservation = StorageReservation()
        try:
            yield reservation
        finally:
            if not reservation.kept:
                await self._subtract(owner, BYTES, size_bytes)

    async def require_chunk_room(self, owner: str) -> None:
        """429 once the owner's indexed chunks have reached the quota: a new upload could
        not be indexed."""
        used = (await self.usage(owner)).indexed_chunks
        if used >= self.quotas.chunks:
            raise ChunkQuotaExceededError(limit=self.quotas.chunks, used=used)

    async def reserve_chunks(self, owner: str, chunks: int) -> None:
        """Add ``chunks`` within the chunk quota; `ChunkQuotaExceededError` when they do
        not fit."""
        try:
            await self._add_within(owner, CHUNKS, chunks, self.quotas.chunks)
        except QuotaExceeded:
            used = (await self.usage(owner)).indexed_chunks
            raise ChunkQuotaExceededError(
                limit=self.quotas.chunks, used=used, requested=chunks
            ) from None

    async def release(self, owner: str, *, stored_bytes: int = 0, chunks: int = 0) -> None:
        """Hand back usage: a deleted document's bytes and chunks, the chunks a smaller
        new version gave up, or a reservation whose work failed."""
        await self._subtract(owner, BYTES, stored_bytes)
        await self._subtract(owner, CHUNKS, chunks)


@dataclass
class StorageReservation:
    kept: bool = False

    def keep(self) -> None:
        """The bytes were stored and recorded: they stay counted."""
        self.kept = True
