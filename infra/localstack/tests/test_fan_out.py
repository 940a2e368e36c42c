"""The provisioned wiring carries events: a QuoteUpdated published to its topic lands,
raw, in the queues of the services that consume it and nowhere else."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from marketscope_events import CATALOG
from marketscope_events.catalog import QuoteUpdated
from marketscope_events.publishing.attributes import message_attributes
from marketscope_infra.apply import Clients

from .conftest import of_kind

pytestmark = pytest.mark.integration

# The queues are shared with the whole session. A long poll whose client was killed (a
# consumer stopped by another test) lives on in the emulator. It takes the next message
# and hides it for the visibility timeout (30 s), so we wait past that before giving up.
DELIVERY_DEADLINE_SECONDS = 45


def receive_marked(
    sqs: Any, queue_url: str, marker: str, *, seconds: float
) -> dict[str, Any] | None:
    """Our message, deleted once found. The queue is shared with the whole session, so
    anything else in it is left alone."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        response = sqs.receive_message(
            QueueUrl=queue_url,
            MaxNumberOfMessages=10,
            WaitTimeSeconds=1,
            MessageAttributeNames=["All"],
        )
        for message in response.get("Messages", []):
            if marker in message["Body"]:
                sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
                return dict(message)
    return None


def test_a_quote_update_reaches_the_notifier_but_not_chat_or_rag(
    clients: Clients, resolved: list[Any]
) -> None:
    sns, sqs = clients.client("sns"), clients.client("sqs")
    envelope = CATALOG.new_event(
        QuoteUpdated(
            symbol="IBM",
            price=Decimal("187.25"),
            previous_price=Decimal("180.00"),
            change=Decimal("7.25"),
            change_percent=None,
            as_of=datetime(2013, 3, 1, 21, 0, tzinfo=UTC),
            provider="replay",
        ),
        subject="Quote#IBM",
    )
    topic_arn = next(t["arn"] for t in of_kind(resolved, "topic") if t["event"] == "QuoteUpdated")
    sns.publish(
        TopicArn=topic_arn,
        Message=envelope.to_json(),
        MessageAttributes=message_attributes(envelope),
    )

    url = sqs.get_queue_url(QueueName="marketscope-notifier")["QueueUrl"]
    message = receive_marked(sqs, url, envelope.id, seconds=DELIVERY_DEADLINE_SECONDS)
    assert message is not None
    assert message["Body"] == envelope.to_json()  # raw delivery: the envelope itself
    assert message["MessageAttributes"]["type"]["StringValue"] == envelope.type
    for service in ("chat", "rag"):  # analysis jobs and documents only
        queue = sqs.get_queue_url(QueueName=f"marketscope-{service}")["QueueUrl"]
        assert receive_marked(sqs, queue, envelope.id, seconds=2) is None, service
