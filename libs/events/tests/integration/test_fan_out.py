"""append -> outbox -> SNS -> subscribed queues, over HTTP against the emulator."""

from __future__ import annotations

import json

import pytest

from marketscope_events import DynamoDBEventStore, Envelope, OutboxRelay
from marketscope_events.publishing import SnsPublisher
from marketscope_platform import AwsClients

from ..conftest import SubscribeFn
from ..helpers import quote_event, receive_all

pytestmark = pytest.mark.integration


async def test_fan_out_reaches_exactly_the_subscribed_queues(
    aws: AwsClients, table: str, publisher: SnsPublisher, subscribe: SubscribeFn
) -> None:
    sqs = await aws.client("sqs")
    queues = {
        service: await subscribe(service) for service in ("gateway", "notifier", "chat", "rag")
    }
    store = DynamoDBEventStore(await aws.client("dynamodb"), table)
    [stored] = await store.append("Quote#AAPL", [quote_event()], expected_version=0)

    assert await OutboxRelay(store, publisher).publish_pending() == 1

    for service in ("gateway", "notifier"):
        messages = await receive_all(sqs, queues[service].queue.url)
        assert len(messages) == 1, service
        envelope = Envelope.from_json(messages[0]["Body"])
        assert envelope.id == stored.id
        assert envelope.sequence == 1
        assert messages[0]["MessageAttributes"]["type"]["StringValue"] == stored.type
    for service in ("chat", "rag"):  # they do not subscribe to quotes
        assert await receive_all(sqs, queues[service].queue.url) == [], service
    assert await store.pending_publication(10) == []
    body = json.loads(Envelope.from_json(messages[0]["Body"]).to_json())
    assert body["data"]["price"] == "187.25"
