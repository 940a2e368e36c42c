"""The side-effect ledger: what every handler does is one conditional write here.

One item per (consumer, event id), put with ``attribute_not_exists``: the first handling
of an event by a consumer writes it, and any later attempt finds it there. Such an
attempt is counted on the item itself (``duplicate_attempts``, with who attempted it), so
the count survives the process that made it being killed a moment later.

The put and the idempotency record's completion are one TransactWriteItems (the
platform's ``current_handling().completion_write()``): a consumer SIGKILLed after its
write has also recorded the event as handled, so its redelivery is a duplicate that the
idempotency check drops before the handler runs. A claim that lapsed and was taken by
another worker cannot commit (its completion's condition fails): the other's run counts.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from sharding import shard_of

from marketscope_events import Handling

CONDITION_FAILED = "ConditionalCheckFailedException"
TRANSACTION_CANCELLED = "TransactionCanceledException"
CONDITION_FAILED_REASON = "ConditionalCheckFailed"


class LedgerUnavailable(Exception):
    """The ledger could not be written (retry later)."""


class ClaimLost(LedgerUnavailable):
    """The claim lapsed and another worker holds it: nothing was written."""


async def create_ledger_table(dynamodb: Any, name: str) -> str:
    await dynamodb.create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[
            {"AttributeName": "consumer", "AttributeType": "S"},
            {"AttributeName": "event_id", "AttributeType": "S"},
        ],
        KeySchema=[
            {"AttributeName": "consumer", "KeyType": "HASH"},
            {"AttributeName": "event_id", "KeyType": "RANGE"},
        ],
    )
    waiter = dynamodb.get_waiter("table_exists")
    await waiter.wait(TableName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    return name


@dataclass(frozen=True)
class DuplicateAttempt:
    consumer: str
    event_id: str
    first_writer: str
    attempted_by: str


class Ledger:
    """One consumer process's writes: ``writer`` names the consumer and its incarnation."""

    def __init__(self, dynamodb: Any, tables: Sequence[str], consumer: str, writer: str) -> None:
        self._db = dynamodb
        self._tables = list(tables)
        self.consumer = consumer
        self.writer = writer

    async def record(
        self, event_id: str, detail: dict[str, str], handling: Handling
    ) -> DuplicateAttempt | None:
        """Write the side effect with ``handling``'s completion; a `DuplicateAttempt` (also
        counted on the item) when it was there already."""
        attempt = uuid.uuid4().hex
        item = {
            "consumer": {"S": self.consumer},
            "event_id": {"S": event_id},
            "writer": {"S": self.writer},
            "attempt": {"S": attempt},
            "written_at": {"S": datetime.now(UTC).isoformat()},
            **{name: {"S": value} for name, value in detail.items()},
        }
        put = {
            "TableName": shard_of(event_id, self._tables),
            "Item": item,
            "ConditionExpression": "attribute_not_exists(event_id)",
        }
        try:
            # The token makes DynamoDB's own retry of a landed transaction a no-op.
            await self._db.transact_write_items(
                TransactItems=[{"Put": put}, handling.completion_write()],
                ClientRequestToken=attempt,
            )
        except ClientError as exc:
            error = exc.response.get("Error", {}).get("Code")
            if error != TRANSACTION_CANCELLED:
                raise LedgerUnavailable(str(exc)) from exc
            reasons = [r.get("Code") for r in exc.response.get("CancellationReasons", [])]
            effect_there = reasons[:1] == [CONDITION_FAILED_REASON]
            if effect_there and await self._landed(event_id, attempt):
                handling.mark_completed()
                return None
            if reasons[1:2] == [CONDITION_FAILED_REASON]:
                # Another worker holds (or completed) the claim: nothing was written.
                if effect_there:
                    await self._count(event_id, "claim_lost_attempts")
                raise ClaimLost(f"the claim on {event_id} is no longer ours") from exc
            if effect_there:  # the claim is ours, yet the effect is there: a 2nd handling
                return await self._count_duplicate(event_id)
            raise LedgerUnavailable(str(exc)) from exc
        except BotoCoreError as exc:
            raise LedgerUnavailable(str(exc)) from exc
        handling.mark_completed()
        return None

    async def _landed(self, event_id: str, attempt: str) -> bool:
        """Whether the item there is this very attempt's: the SDK retried a transaction
        whose first try had committed (moto ignores ClientRequestToken). Such retries
        are counted on the item (``sdk_retries``), apart from second handlings."""
        key = {"consumer": {"S": self.consumer}, "event_id": {"S": event_id}}
        table = shard_of(event_id, self._tables)
        try:
            found = await self._db.get_item(TableName=table, Key=key, ConsistentRead=True)
            if found.get("Item", {}).get("attempt", {}).get("S") != attempt:
                return False
        except (ClientError, BotoCoreError) as exc:
            raise LedgerUnavailable(str(exc)) from exc
        await self._count(event_id, "sdk_retries")
        return True

    async def _count(self, event_id: str, counter: str) -> None:
        try:
            await self._db.update_item(
                TableName=shard_of(event_id, self._tables),
                Key={"consumer": {"S": self.consumer}, "event_id": {"S": event_id}},
                UpdateExpression=f"ADD {counter} :one",
                ExpressionAttributeValues={":one": {"N": "1"}},
            )
        except (ClientError, BotoCoreError) as exc:
            raise LedgerUnavailable(str(exc)) from exc

    async def _count_duplicate(self, event_id: str) -> DuplicateAttempt:
        try:
            response = await self._db.update_item(
                TableName=shard_of(event_id, self._tables),
                Key={"consumer": {"S": self.consumer}, "event_id": {"S": event_id}},
                UpdateExpression="ADD duplicate_attempts :one "
                "SET duplicate_writers = list_append(if_not_exists(duplicate_writers, :none), "
                ":writer)",
                ExpressionAttributeValues={
                    ":one": {"N": "1"},
                    ":none": {"L": []},
                    ":writer": {"L": [{"S": self.writer}]},
                },
                ReturnValues="ALL_NEW",
            )
        except (ClientError, BotoCoreError) as exc:
            raise LedgerUnavailable(str(exc)) from exc
        first = str(response.get("Attributes", {}).get("writer", {}).get("S", "?"))
        return DuplicateAttempt(self.consumer, event_id, first, self.writer)


@dataclass
class LedgerContents:
    """Everything one consumer's handlers wrote, read back."""

    consumer: str
    event_ids: set[str] = field(default_factory=set)
    duplicates: list[DuplicateAttempt] = field(default_factory=list)
    writers: Counter[str] = field(default_factory=Counter)
    sdk_retries: int = 0  # transactions the SDK sent again after they had committed
    claim_lost_attempts: int = 0  # refused whole: another worker held the claim

    @property
    def duplicate_attempts(self) -> int:
        return len(self.duplicates)


async def read_ledger(dynamodb: Any, tables: Sequence[str], consumer: str) -> LedgerContents:
    contents = LedgerContents(consumer)
    paginator = dynamodb.get_paginator("query")
    for table in tables:
        pages = paginator.paginate(
            TableName=table,
            KeyConditionExpression="consumer = :consumer",
            ExpressionAttributeValues={":consumer": {"S": consumer}},
            ProjectionExpression="event_id, writer, duplicate_writers, sdk_retries, "
            "claim_lost_attempts",
            ConsistentRead=True,
        )
        async for page in pages:
            for item in page.get("Items", []):
                event_id = str(item["event_id"]["S"])
                first = str(item.get("writer", {}).get("S", "?"))
                contents.event_ids.add(event_id)
                contents.writers[first] += 1
                contents.sdk_retries += int(item.get("sdk_retries", {}).get("N", "0"))
                lost = item.get("claim_lost_attempts", {}).get("N", "0")
                contents.claim_lost_attempts += int(lost)
                for later in item.get("duplicate_writers", {}).get("L", []):
                    contents.duplicates.append(
                        DuplicateAttempt(consumer, event_id, first, str(later.get("S", "?")))
                    )
    return contents
