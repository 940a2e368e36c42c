"""The SQS consumer against queues with a redrive policy, over HTTP."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import timedelta
from typing import Any

import pytest

from marketscope_events import (
    DecodedEvent,
    DynamoDBIdempotencyStore,
    Envelope,
    MessageReport,
    Outcome,
    TerminalHandlerError,
    TransientHandlerError,
)
from marketscope_events.errors import EventAlreadyHandledError
from marketscope_events.publishing import message_attributes
from marketscope_platform import AwsClients

from ..helpers import quote_event, receive_all
from .consumers import make_consumer, run_until, send, send_events

pytestmark = pytest.mark.integration


async def test_redelivered_event_runs_the_handler_once(
    aws: AwsClients, table: str, queue: Any
) -> None:
    sqs, dynamodb = await aws.client("sqs"), await aws.client("dynamodb")
    source, _ = queue
    event = quote_event()
    for _ in range(2):  # SNS and the emulator may deliver twice; so may a replay
        await send(sqs, source, event.to_json(), message_attributes(event))
    handled: list[str] = []

    async def on_quote(decoded: DecodedEvent[Any]) -> None:
        handled.append(decoded.envelope.id)

    reports: list[MessageReport] = []
    consumer = make_consumer(sqs, dynamodb, table, source, reports)
    consumer.on("QuoteUpdated", on_quote)
    await run_until(consumer, lambda: any(r.outcome is Outcome.DUPLICATE for r in reports))

    assert handled == [event.id]
    outcomes = Counter(r.outcome for r in reports)
    # When both copies arrive in one batch, the second waits for the first's claim.
    assert outcomes[Outcome.HANDLED] == 1
    assert outcomes[Outcome.DUPLICATE] == 1
    assert set(outcomes) <= {Outcome.HANDLED, Outcome.DUPLICATE, Outcome.RETRY}
    assert await receive_all(sqs, source.url) == []


async def test_poison_message_reaches_dlq_after_three_receives_while_batch_succeeds(
    aws: AwsClients, table: str, queue: Any
) -> None:
    sqs, dynamodb = await aws.client("sqs"), await aws.client("dynamodb")
    source, dlq = queue
    good = [quote_event(price=str(100 + n)) for n in range(5)]
    await sqs.send_message_batch(
        QueueUrl=source.url,
        Entries=[{"Id": "poison", "MessageBody": '{"specversion": "1.0", "type": "nonsense"}'}]
        + [{"Id": str(n), "MessageBody": e.to_json()} for n, e in enumerate(good)],
    )
    handled: list[str] = []

    async def on_quote(decoded: DecodedEvent[Any]) -> None:
        handled.append(decoded.envelope.id)

    reports: list[MessageReport] = []
    consumer = make_consumer(sqs, dynamodb, table, source, reports)
    consumer.on("QuoteUpdated", on_quote)
    dead: list[dict[str, Any]] = []

    def poison_in_dlq() -> bool:
        return len(dead) > 0

    async def watch_dlq() -> None:
        while not dead:
            dead.extend(await receive_all(sqs, dlq.url, wait=1))

    watcher = asyncio.create_task(watch_dlq())
    await run_until(consumer, poison_in_dlq)
    await watcher

    assert sorted(handled) == sorted(e.id for e in good)
    rejected = [r for r in reports if r.outcome is Outcome.REJECTED]
    assert sorted(r.receive_count for r in rejected) == [1, 2, 3]
    assert all("MalformedEnvelopeError" in (r.reason or "") for r in rejected)
    assert [m["Body"] for m in dead] == ['{"specversion": "1.0", "type": "nonsense"}']
    assert await receive_all(sqs, source.url) == []


async def test_terminal_handler_error_and_unknown_type_are_rejected_not_fatal(
    aws: AwsClients, table: str, queue: Any
) -> None:
    sqs, dynamodb = await aws.client("sqs"), await aws.client("dynamodb")
    source, _ = queue
    bad_symbol = quote_event("ZZZZ")
    unknown = quote_event().model_copy(
        update={"type": "marketscope.market-data.QuoteUpdated.v9", "dataversion": 9}
    )
    for event in (bad_symbol, unknown):
        await send(sqs, source, event.to_json())
    await send(sqs, source, "not json at all")

    async def on_quote(decoded: DecodedEvent[Any]) -> None:
        raise TerminalHandlerError(f"no such listing {decoded.data.symbol}")

    reports: list[MessageReport] = []
    consumer = make_consumer(sqs, dynamodb, table, source, reports)
    consumer.on("QuoteUpdated", on_quote)
    await run_until(consumer, lambda: len({r.message_id for r in reports}) == 3)

    first_reason = {r.message_id: (r.reason or "").split(":")[0] for r in reversed(reports)}
    assert sorted(first_reason.values()) == [
        "MalformedEnvelopeError",
        "TerminalHandlerError",
        "UnknownEventTypeError",
    ]
    assert all(r.outcome is Outcome.REJECTED for r in reports)


async def test_transient_failure_is_retried_then_handled(
    aws: AwsClients, table: str, queue: Any
) -> None:
    sqs, dynamodb = await aws.client("sqs"), await aws.client("dynamodb")
    source, _ = queue
    event = quote_event()
    await send(sqs, source, event.to_json())
    calls = Counter[str]()

    async def flaky(decoded: DecodedEvent[Any]) -> None:
        calls[decoded.envelope.id] += 1
        if calls[decoded.envelope.id] == 1:
            raise TransientHandlerError("market-data timed out")

    reports: list[MessageReport] = []
    consumer = make_consumer(sqs, dynamodb, table, source, reports)
    consumer.on("QuoteUpdated", flaky)
    await run_until(consumer, lambda: any(r.outcome is Outcome.HANDLED for r in reports))

    assert calls[event.id] == 2
    assert [r.outcome for r in reports] == [Outcome.RETRY, Outcome.HANDLED]
    assert [r.receive_count for r in reports] == [1, 2]
    assert await receive_all(sqs, source.url) == []


async def test_heartbeat_keeps_a_long_handler_message_invisible(
    aws: AwsClients, table: str, queue: Any
) -> None:
    sqs, dynamodb = await aws.client("sqs"), await aws.client("dynamodb")
    source, _ = queue
    await send(sqs, source, quote_event().to_json())
    started = asyncio.Event()
    runs = 0

    async def slow(decoded: DecodedEvent[Any]) -> None:
        nonlocal runs
        runs += 1
        started.set()
        await asyncio.sleep(7.5)  # 2.5 times the visibility timeout

    reports: list[MessageReport] = []
    consumer = make_consumer(sqs, dynamodb, table, source, reports, visibility_timeout=3)
    consumer.on("QuoteUpdated", slow)
    task = asyncio.create_task(consumer.run())
    await asyncio.wait_for(started.wait(), timeout=10)
    stolen = await receive_all(sqs, source.url, wait=6)  # a rival consumer's long poll
    await asyncio.sleep(0.5)
    consumer.stop()
    await asyncio.wait_for(task, timeout=10)

    assert stolen == []
    assert runs == 1
    assert [r.outcome for r in reports] == [Outcome.HANDLED]


async def test_stop_finishes_in_flight_and_leaves_the_rest(
    aws: AwsClients, table: str, queue: Any
) -> None:
    sqs, dynamodb = await aws.client("sqs"), await aws.client("dynamodb")
    source, _ = queue
    first = quote_event(price="1")
    await send(sqs, source, first.to_json())
    started = asyncio.Event()

    async def slow(decoded: DecodedEvent[Any]) -> None:
        started.set()
        await asyncio.sleep(1.5)

    reports: list[MessageReport] = []
    consumer = make_consumer(sqs, dynamodb, table, source, reports, batch_size=1, concurrency=1)
    consumer.on("QuoteUpdated", slow)
    task = asyncio.create_task(consumer.run())
    await asyncio.wait_for(started.wait(), timeout=10)
    later = quote_event(price="2")
    await send(sqs, source, later.to_json())
    consumer.stop()
    await asyncio.wait_for(task, timeout=10)

    assert [(r.event_id, r.outcome) for r in reports] == [(first.id, Outcome.HANDLED)]
    remaining = await receive_all(sqs, source.url)
    assert [m["Body"] for m in remaining] == [later.to_json()]


async def test_concurrency_is_bounded(aws: AwsClients, table: str, queue: Any) -> None:
    sqs, dynamodb = await aws.client("sqs"), await aws.client("dynamodb")
    source, _ = queue
    events = [quote_event(price=str(n)) for n in range(1, 13)]
    await send_events(sqs, source, events)
    running = peak = 0

    async def tracked(decoded: DecodedEvent[Any]) -> None:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(0.2)
        running -= 1

    reports: list[MessageReport] = []
    consumer = make_consumer(sqs, dynamodb, table, source, reports, concurrency=3)
    consumer.on("QuoteUpdated", tracked)
    await run_until(consumer, lambda: len(reports) == len(events))

    assert peak == 3
    assert {r.event_id for r in reports} == {e.id for e in events}


async def test_messages_received_while_stopping_are_released_not_hidden(
    aws: AwsClients, table: str, queue: Any
) -> None:
    sqs, dynamodb = await aws.client("sqs"), await aws.client("dynamodb")
    source, _ = queue
    reports: list[MessageReport] = []
    consumer = make_consumer(sqs, dynamodb, table, source, reports, wait_time_seconds=5)

    async def never(decoded: DecodedEvent[Any]) -> None:
        raise AssertionError("no handler runs after stop()")

    consumer.on("QuoteUpdated", never)
    task = asyncio.create_task(consumer.run())
    await asyncio.sleep(0.5)  # the consumer is now inside its long poll
    consumer.stop()
    event = quote_event()
    await send(sqs, source, event.to_json())  # lands in the poll that is still open
    await asyncio.wait_for(task, timeout=10)

    assert reports == []
    received = await receive_all(sqs, source.url, wait=1)  # visible again at once
    assert [Envelope.from_json(m["Body"]).id for m in received] == [event.id]


async def test_handled_messages_are_acknowledged_in_batches(
    aws: AwsClients, table: str, queue: Any
) -> None:
    """Twenty handled messages: their completions in one BatchWriteItem per 25 at most
    and their deletions in one DeleteMessageBatch per 10, whatever the receives held."""
    sqs, dynamodb = await aws.client("sqs"), await aws.client("dynamodb")
    source, _ = queue
    events = [quote_event(price=str(200 + n)) for n in range(20)]
    await send_events(sqs, source, events)
    calls: Counter[str] = Counter()

    def count(event_name: str, **_: Any) -> None:
        calls[event_name.rsplit(".", 1)[-1]] += 1

    for client in (sqs, dynamodb):
        client.meta.events.register("before-call.*.*", count)
    handled: list[str] = []

    async def on_quote(decoded: DecodedEvent[Any]) -> None:
        handled.append(decoded.envelope.id)

    reports: list[MessageReport] = []
    consumer = make_consumer(sqs, dynamodb, table, source, reports, acknowledge_within=5.0)
    consumer.on("QuoteUpdated", on_quote)
    try:
        await run_until(consumer, lambda: len(reports) == 20)
    finally:
        for client in (sqs, dynamodb):
            client.meta.events.unregister("before-call.*.*", count)

    assert sorted(handled) == sorted(e.id for e in events)
    assert {r.outcome for r in reports} == {Outcome.HANDLED}
    assert calls["PutItem"] == 20  # the claims, one each, before each handler runs
    # Full batches go at once, across receives; the window only ends partial ones.
    assert calls["DeleteMessageBatch"] == 2
    assert calls["BatchWriteItem"] == 2
    assert "DeleteMessage" not in calls
    assert await receive_all(sqs, source.url) == []
    with pytest.raises(EventAlreadyHandledError):
        await DynamoDBIdempotencyStore(dynamodb, table).begin(
            "test-consumer", events[0].id, claim_for=timedelta(minutes=1)
        )
