"""SNS publishing: attributes, raw delivery, batches; trace context through the hop."""

from __future__ import annotations

import pytest

from marketscope_events import Envelope, LazySnsPublisher
from marketscope_events.publishing import SnsPublisher, TopicDirectory
from marketscope_platform import AwsClients

from ..conftest import SubscribeFn
from ..helpers import quote_event, receive_all

pytestmark = pytest.mark.integration

TRACEPARENT = "00-5f1b2c3d4e5f60718293a4b5c6d7e8f9-a1b2c3d4e5f60718-01"


async def test_publish_carries_type_and_trace_attributes_with_raw_delivery(
    aws: AwsClients, publisher: SnsPublisher, subscribe: SubscribeFn
) -> None:
    notifier = await subscribe("notifier")
    event = quote_event(traceparent=TRACEPARENT)
    await publisher.publish(event)

    [message] = await receive_all(await aws.client("sqs"), notifier.queue.url)
    assert Envelope.from_json(message["Body"]) == event  # raw: the body is the envelope
    attributes = {k: v["StringValue"] for k, v in message["MessageAttributes"].items()}
    assert attributes == {
        "type": "marketscope.market-data.QuoteUpdated.v2",
        "traceparent": TRACEPARENT,
        "X-Amzn-Trace-Id": (
            "Root=1-5f1b2c3d-4e5f60718293a4b5c6d7e8f9;Parent=a1b2c3d4e5f60718;Sampled=1"
        ),
    }


async def test_publish_batch_spans_topics_and_chunks(
    aws: AwsClients, publisher: SnsPublisher, subscribe: SubscribeFn
) -> None:
    from datetime import UTC, datetime

    from marketscope_events import CATALOG
    from marketscope_events.catalog import AnalysisCompleted

    gateway = await subscribe("gateway")
    quotes = [quote_event(price=str(n)) for n in range(1, 13)]
    analysis = CATALOG.new_event(
        AnalysisCompleted(
            analysis_id="a1",
            owner="u1",
            symbols=["AAPL"],
            summary="Momentum is positive.",
            model="offline",
            tool_calls=3,
            prompt_tokens=0,
            completion_tokens=0,
            completed_at=datetime.now(UTC),
        )
    )
    published = await publisher.publish_batch([*quotes, analysis])

    assert sorted(published) == sorted(e.id for e in [*quotes, analysis])
    received = await receive_all(await aws.client("sqs"), gateway.queue.url)
    types = sorted(m["MessageAttributes"]["type"]["StringValue"] for m in received)
    assert types.count("marketscope.market-data.QuoteUpdated.v2") == 12
    assert types.count("marketscope.chat.AnalysisCompleted.v1") == 1


async def test_lazy_publisher_resolves_topics_on_first_publish_and_publishes(
    aws: AwsClients, topics: TopicDirectory, subscribe: SubscribeFn
) -> None:
    notifier = await subscribe("notifier")
    publisher = LazySnsPublisher(
        await aws.client("sns"), await aws.client("sts"), aws.settings.default_region
    )
    events = [quote_event(price="1"), quote_event(price="2")]

    assert sorted(await publisher.publish_batch(events)) == sorted(e.id for e in events)

    received = await receive_all(await aws.client("sqs"), notifier.queue.url)
    assert sorted(Envelope.from_json(m["Body"]).id for m in received) == sorted(
        e.id for e in events
    )
