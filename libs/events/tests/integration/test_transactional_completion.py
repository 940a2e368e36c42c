"""A handler's side effect and its idempotency completion in one transaction, over HTTP."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError

from marketscope_events import (
    ConsumerSettings,
    DecodedEvent,
    DynamoDBIdempotencyStore,
    Handling,
    InMemoryIdempotencyStore,
    MessageReport,
    Outcome,
    SqsConsumer,
    current_handling,
)
from marketscope_events.errors import EventAlreadyHandledError
from marketscope_events.publishing import message_attributes
from marketscope_platform import AwsClients

from ..contract.event_store_contract import MutableClock
from ..helpers import quote_event, receive_all
from .consumers import run_until, send

pytestmark = pytest.mark.integration

CLAIM, KEEP = timedelta(minutes=1), timedelta(days=1)


def effect_put(table: str, event_id: str) -> dict[str, Any]:
    return {
        "Put": {
            "TableName": table,
            "Item": {"pk": {"S": f"Effect#{event_id}"}, "sk": {"N": "0"}},
            "ConditionExpression": "attribute_not_exists(pk)",
        }
    }


async def effect_written(dynamodb: Any, table: str, event_id: str) -> bool:
    response = await dynamodb.get_item(
        TableName=table,
        Key={"pk": {"S": f"Effect#{event_id}"}, "sk": {"N": "0"}},
        ConsistentRead=True,
    )
    return "Item" in response


class CountingStore(DynamoDBIdempotencyStore):
    completions = 0

    async def complete(self, consumer: str, event_id: str, *, keep_for: timedelta) -> None:
        self.completions += 1
        await super().complete(consumer, event_id, keep_for=keep_for)


async def test_the_effect_and_handled_commit_together_and_a_redelivery_skips(
    aws: AwsClients, table: str, queue: Any
) -> None:
    sqs, dynamodb = await aws.client("sqs"), await aws.client("dynamodb")
    source, _ = queue
    event = quote_event()
    for _ in range(2):
        await send(sqs, source, event.to_json(), message_attributes(event))
    runs: list[str] = []

    async def on_quote(decoded: DecodedEvent[Any]) -> None:
        handling = current_handling()
        await dynamodb.transact_write_items(
            TransactItems=[effect_put(table, decoded.envelope.id), handling.completion_write()]
        )
        handling.mark_completed()
        runs.append(decoded.envelope.id)

    reports: list[MessageReport] = []
    store = CountingStore(dynamodb, table)
    settings = ConsumerSettings(
        name="test-consumer", queue_url=source.url, wait_time_seconds=1, retry_base_seconds=0
    )
    consumer = SqsConsumer(sqs, settings, store, on_report=reports.append)
    consumer.on("QuoteUpdated", on_quote)
    await run_until(consumer, lambda: any(r.outcome is Outcome.DUPLICATE for r in reports))

    assert runs == [event.id]
    assert await effect_written(dynamodb, table, event.id)
    assert store.completions == 0  # the handler's transaction completed the record
    with pytest.raises(EventAlreadyHandledError):
        await store.begin("test-consumer", event.id, claim_for=CLAIM)
    assert await receive_all(sqs, source.url) == []


async def test_a_lapsed_claim_cannot_commit_its_effect(aws: AwsClients, table: str) -> None:
    dynamodb = await aws.client("dynamodb")
    clock = MutableClock()
    store = DynamoDBIdempotencyStore(dynamodb, table, clock=clock)
    lapsed_owner = await store.begin("chat", "lapsed-1", claim_for=CLAIM)
    clock.now += CLAIM + timedelta(seconds=2)
    await store.begin("chat", "lapsed-1", claim_for=CLAIM)  # another worker holds it now
    lapsed = Handling("chat", "lapsed-1", lapsed_owner, KEEP, store)

    with pytest.raises(ClientError) as refused:
        await dynamodb.transact_write_items(
            TransactItems=[effect_put(table, "lapsed-1"), lapsed.completion_write()]
        )

    assert refused.value.response["Error"]["Code"] == "TransactionCanceledException"
    assert not await effect_written(dynamodb, table, "lapsed-1")


def test_a_store_outside_dynamodb_says_it_cannot_join_a_transaction() -> None:
    handling = Handling("gateway", "e1", "owner", KEEP, InMemoryIdempotencyStore())
    with pytest.raises(TypeError, match="cannot join a transaction"):
        handling.completion_write()


def test_current_handling_outside_a_handler_says_so() -> None:
    with pytest.raises(LookupError, match="only known inside a consumer's handler"):
        current_handling()
