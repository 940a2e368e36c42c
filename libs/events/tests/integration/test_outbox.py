"""The transactional outbox: nothing appended is lost, whatever dies when."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import textwrap
from collections.abc import Sequence

import pytest

from marketscope_events import DynamoDBEventStore, Envelope, OutboxRelay
from marketscope_events.errors import PublishError
from marketscope_events.publishing import SnsPublisher
from marketscope_events.store import OutboxEntry
from marketscope_platform import AwsClients

from ..conftest import SubscribeFn
from ..helpers import quote_event, receive_all

pytestmark = pytest.mark.integration

APPEND_THEN_DIE = textwrap.dedent(
    """
    import asyncio, os, sys
    sys.path.insert(0, os.environ["HELPERS_DIR"])
    from helpers import quote_event
    from marketscope_events import DynamoDBEventStore
    from marketscope_platform import AwsClients

    async def main() -> None:
        async with AwsClients() as aws:
            store = DynamoDBEventStore(await aws.client("dynamodb"), sys.argv[1])
            [event] = await store.append("Quote#CRASH", [quote_event("CRASH")], expected_version=0)
            print(event.id, flush=True)
            os._exit(137)  # dies like kill -9: after the append, before any publish

    asyncio.run(main())
    """
)


async def test_crash_between_append_and_publish_loses_nothing(
    aws: AwsClients, aws_endpoint: str, table: str, publisher: SnsPublisher, subscribe: SubscribeFn
) -> None:
    notifier = await subscribe("notifier")
    env = {
        **os.environ,
        "AWS_ENDPOINT_URL": aws_endpoint,
        "HELPERS_DIR": os.path.dirname(os.path.dirname(__file__)),
    }
    crashed = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-c", APPEND_THEN_DIE, table],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert crashed.returncode == 137, crashed.stderr
    event_id = crashed.stdout.strip()
    sqs = await aws.client("sqs")
    assert await receive_all(sqs, notifier.queue.url) == []

    store = DynamoDBEventStore(await aws.client("dynamodb"), table)
    assert await OutboxRelay(store, publisher).publish_pending() == 1

    [message] = await receive_all(sqs, notifier.queue.url)
    assert Envelope.from_json(message["Body"]).id == event_id
    assert await OutboxRelay(store, publisher).publish_pending() == 0


class FailingPublisher:
    async def publish_batch(self, envelopes: Sequence[Envelope]) -> list[str]:
        raise PublishError([e.id for e in envelopes], "SNS is down")


async def test_failed_publish_keeps_the_marker_for_the_next_pass(
    aws: AwsClients, table: str, publisher: SnsPublisher, subscribe: SubscribeFn
) -> None:
    notifier = await subscribe("notifier")
    store = DynamoDBEventStore(await aws.client("dynamodb"), table)
    [event] = await store.append("Quote#AAPL", [quote_event()], expected_version=0)

    with pytest.raises(PublishError):
        await OutboxRelay(store, FailingPublisher()).publish_pending()
    assert [p.envelope.id for p in await store.pending_publication(10)] == [event.id]

    assert await OutboxRelay(store, publisher).publish_pending() == 1
    [message] = await receive_all(await aws.client("sqs"), notifier.queue.url)
    assert Envelope.from_json(message["Body"]).id == event.id


async def test_relay_publishes_in_batches_of_ten(
    aws: AwsClients, table: str, publisher: SnsPublisher, subscribe: SubscribeFn
) -> None:
    notifier = await subscribe("notifier")
    store = DynamoDBEventStore(await aws.client("dynamodb"), table)
    events = [quote_event(price=str(n)) for n in range(1, 24)]
    await store.append("Quote#AAPL", events, expected_version=0)
    calls: list[int] = []

    class CountingPublisher:
        async def publish_batch(self, envelopes: Sequence[Envelope]) -> list[str]:
            calls.append(len(envelopes))
            return await publisher.publish_batch(envelopes)

    assert await OutboxRelay(store, CountingPublisher()).publish_pending() == 23
    assert calls == [10, 10, 3]
    received = await receive_all(await aws.client("sqs"), notifier.queue.url)
    received_ids = sorted(Envelope.from_json(m["Body"]).id for m in received)
    assert received_ids == sorted(e.id for e in events)


async def test_running_relay_publishes_appends_without_querying_the_index(
    aws: AwsClients, table: str, publisher: SnsPublisher, subscribe: SubscribeFn
) -> None:
    notifier = await subscribe("notifier")
    store = DynamoDBEventStore(await aws.client("dynamodb"), table)
    sweeps = 0
    pending_publication = store.pending_publication

    async def counted(limit: int) -> list[OutboxEntry]:
        nonlocal sweeps
        sweeps += 1
        return await pending_publication(limit)

    store.pending_publication = counted  # type: ignore[method-assign]
    relay = OutboxRelay(store, publisher, idle_interval=60)
    stop = asyncio.Event()
    running = asyncio.create_task(relay.run(stop))
    await asyncio.sleep(0.3)  # the start-up sweep
    assert sweeps == 1
    events = [quote_event(price=str(n)) for n in (1, 2)]
    await store.append("Quote#AAPL", events[:1], expected_version=0)
    await store.append("Quote#AAPL", events[1:], expected_version=1)
    received = await receive_all(await aws.client("sqs"), notifier.queue.url, wait=5)
    stop.set()
    await asyncio.wait_for(running, timeout=5)

    assert sorted(Envelope.from_json(m["Body"]).id for m in received) == sorted(
        e.id for e in events
    )
    assert sweeps == 1
    assert await pending_publication(10) == []  # published and marked
