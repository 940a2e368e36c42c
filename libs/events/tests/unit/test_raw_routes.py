"""Raw routes in the dispatcher: which messages they get and what each outcome does, on a
fake queue (the emulator runs the same in tests/integration/test_raw_routes.py)."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import timedelta
from typing import Any

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Tracer

from marketscope_events import (
    ConsumerSettings,
    DecodedEvent,
    InMemoryIdempotencyStore,
    Outcome,
    RawMessage,
    RawRoute,
    SqsConsumer,
    TerminalHandlerError,
    TransientHandlerError,
)
from marketscope_events.consuming import unwrap_sns
from marketscope_events.errors import EventAlreadyHandledError

from ..helpers import quote_event

CLAIM = timedelta(minutes=1)
TRACEPARENT = "00-5f1b2c3d4e5f60718293a4b5c6d7e8f9-a1b2c3d4e5f60718-01"


class FakeSqs:
    def __init__(self) -> None:
        self.visibility: list[tuple[str, int]] = []
        self.deleted: list[str] = []

    async def change_message_visibility(self, **kwargs: Any) -> None:
        self.visibility.append((kwargs["ReceiptHandle"], kwargs["VisibilityTimeout"]))

    async def delete_message_batch(self, **kwargs: Any) -> dict[str, Any]:
        self.deleted.extend(entry["ReceiptHandle"] for entry in kwargs["Entries"])
        return {"Successful": [], "Failed": []}


def scheduled_event(event_id: str | None = None) -> dict[str, Any]:
    return {
        "version": "0",
        "id": event_id or str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "time": "2024-05-01T16:30:00Z",
        "resources": ["arn:aws:events:us-east-1:000000000000:rule/refresh"],
        "detail": {},
    }


def sqs_message(body: Any, *, receive_count: int = 1, **attributes: Any) -> dict[str, Any]:
    handle = f"handle-{uuid.uuid4().hex[:6]}"
    return {
        "MessageId": f"m-{handle}",
        "ReceiptHandle": handle,
        "Body": body if isinstance(body, str) else json.dumps(body),
        "Attributes": {"ApproximateReceiveCount": str(receive_count), "SentTimestamp": "1"},
        "MessageAttributes": attributes,
    }


class Harness:
    def __init__(self, *, visibility_timeout: int = 30, tracer: Tracer | None = None) -> None:
        self.sqs = FakeSqs()
        self.records = InMemoryIdempotencyStore()
        settings = ConsumerSettings(
            "test", "https://queue", retry_base_seconds=2, visibility_timeout=visibility_timeout
        )
        self.consumer = SqsConsumer(
            self.sqs,  # type: ignore[arg-type]
            settings,
            self.records,
            tracer=tracer,
        )
        self.handled: list[RawMessage] = []

    def route(self, name: str = "scheduled-refresh", **overrides: Any) -> RawRoute:
        async def handle(message: RawMessage) -> None:
            self.handled.append(message)

        fields: dict[str, Any] = {
            "name": name,
            "matches": lambda m: (
                isinstance(m.body, dict) and m.body.get("detail-type") == "Scheduled Event"
            ),
            "handler": handle,
            "idempotency_key": lambda m: m.body["id"],
            **overrides,
        }
        route = RawRoute(**fields)
        self.consumer.route_raw(route)
        return route


async def test_a_matching_raw_message_is_handled_claimed_and_reported() -> None:
    harness = Harness()
    harness.route()
    body = scheduled_event()
    message = sqs_message(body)

    [report] = await harness.consumer.process_batch([message])

    assert (report.outcome, report.event_type, report.event_id) == (
        Outcome.HANDLED,
        "raw:scheduled-refresh",
        body["id"],
    )
    [raw] = harness.handled
    assert raw == RawMessage(
        message_id=message["MessageId"],
        body=body,
        attributes={"ApproximateReceiveCount": "1", "SentTimestamp": "1"},
        message_attributes={},
        receive_count=1,
    )
    assert harness.sqs.deleted == [message["ReceiptHandle"]]
    with pytest.raises(EventAlreadyHandledError):
        await harness.records.begin("test", f"raw:scheduled-refresh:{body['id']}", claim_for=CLAIM)
    [again] = await harness.consumer.process_batch([sqs_message(body)])
    assert again.outcome is Outcome.DUPLICATE
    assert len(harness.handled) == 1


async def test_raw_keys_are_namespaced_apart_from_event_ids() -> None:
    harness = Harness()
    harness.route()
    event = quote_event()
    seen: list[str] = []

    async def on_quote(decoded: DecodedEvent[Any]) -> None:
        seen.append(decoded.envelope.id)

    harness.consumer.on("QuoteUpdated", on_quote)

    reports = await harness.consumer.process_batch(
        [sqs_message(scheduled_event(event.id)), sqs_message(event.to_json())]
    )

    assert sorted(r.outcome for r in reports) == [Outcome.HANDLED, Outcome.HANDLED]
    assert seen == [event.id]


async def test_a_cloudevent_never_reaches_a_raw_route() -> None:
    harness = Harness()
    harness.route("everything", matches=lambda m: True, idempotency_key=lambda m: "k")
    event = quote_event()

    [report] = await harness.consumer.process_batch([sqs_message(event.to_json())])

    assert harness.handled == []
    assert report.outcome is Outcome.REJECTED
    assert (report.reason or "").startswith("NoHandlerError")
    assert report.event_type == event.type


@pytest.mark.parametrize("body", ["not json", {"detail-type": "Something Else"}, [1, 2]])
async def test_with_no_matching_route_the_message_is_malformed_and_terminal(body: Any) -> None:
    harness = Harness()
    harness.route()
    message = sqs_message(body, receive_count=2)

    [report] = await harness.consumer.process_batch([message])

    assert (report.outcome, report.receive_count, report.event_type) == (
        Outcome.REJECTED,
        2,
        None,
    )
    assert (report.reason or "").startswith("MalformedEnvelopeError")
    assert harness.sqs.visibility == [(message["ReceiptHandle"], 0)]  # visible: on to the DLQ
    assert harness.sqs.deleted == []


async def test_a_broken_route_rejects_the_message_without_stopping_the_consumer() -> None:
    picky, keyless = Harness(), Harness()
    picky.route("picky", matches=lambda m: m.body["no-such-key"] == 1)
    keyless.route("keyless", matches=lambda m: True, idempotency_key=lambda m: "")

    [raises] = await picky.consumer.process_batch([sqs_message(scheduled_event())])
    [no_key] = await keyless.consumer.process_batch([sqs_message(scheduled_event())])

    assert raises.outcome is Outcome.REJECTED
    assert (raises.reason or "").startswith("KeyError")
    assert no_key.outcome is Outcome.REJECTED
    assert no_key.event_type == "raw:keyless"
    assert "no idempotency key for raw:keyless" in (no_key.reason or "")
    assert picky.handled == keyless.handled == []


async def test_handler_failures_behave_as_for_events() -> None:
    harness = Harness()
    failures: list[Exception] = [
        TransientHandlerError("feed timed out"),
        TerminalHandlerError("bad"),
    ]

    async def failing(message: RawMessage) -> None:
        raise failures.pop(0)

    harness.route(handler=failing)
    body = scheduled_event()

    [transient] = await harness.consumer.process_batch([sqs_message(body, receive_count=1)])
    [terminal] = await harness.consumer.process_batch([sqs_message(body, receive_count=2)])

    assert (transient.outcome, terminal.outcome) == (Outcome.RETRY, Outcome.REJECTED)
    delays = [seconds for _, seconds in harness.sqs.visibility]
    assert 1 <= delays[0] <= 2  # backoff on the first receive
    assert delays[1] == 0  # terminal: visible at once
    assert (terminal.reason or "").startswith("TerminalHandlerError")
    # Each failure released the claim: the key can be handled later.
    await harness.records.begin("test", f"raw:scheduled-refresh:{body['id']}", claim_for=CLAIM)


async def test_a_long_raw_handler_keeps_its_message_invisible() -> None:
    harness = Harness(visibility_timeout=1)

    async def slow(message: RawMessage) -> None:
        await asyncio.sleep(1.3)  # the heartbeat runs every 0.5 s at least

    harness.route(handler=slow)
    message = sqs_message(scheduled_event())

    [report] = await harness.consumer.process_batch([message])

    assert report.outcome is Outcome.HANDLED
    assert harness.sqs.visibility.count((message["ReceiptHandle"], 1)) >= 2


async def test_raw_routes_get_a_consumer_span_continuing_a_traceparent() -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    harness = Harness(tracer=provider.get_tracer("test"))
    harness.route()
    message = sqs_message(
        scheduled_event(), traceparent={"DataType": "String", "StringValue": TRACEPARENT}
    )

    await harness.consumer.process_batch([message])

    [span] = exporter.get_finished_spans()
    assert span.name == "scheduled-refresh process"
    assert span.attributes is not None
    assert span.attributes["marketscope.raw_route"] == "scheduled-refresh"
    assert span.attributes["messaging.message.id"] == message["MessageId"]
    assert span.attributes["messaging.consumer.group.name"] == "test"
    assert f"{span.context.trace_id:032x}" == TRACEPARENT.split("-")[1]


def test_route_names_are_unique_and_usable_as_a_namespace() -> None:
    harness = Harness()
    harness.route()
    with pytest.raises(ValueError, match="already has a raw route"):
        harness.route()
    with pytest.raises(ValueError, match="without ':'"):
        harness.route("raw:thing")


def test_unwrap_sns_reads_a_notification_and_passes_anything_else() -> None:
    alarm = {"AlarmName": "marketscope-chat-error-rate", "NewStateValue": "ALARM"}
    wrapped = {"Type": "Notification", "MessageId": "n1", "Message": json.dumps(alarm)}
    assert unwrap_sns(wrapped) == alarm
    assert unwrap_sns(alarm) == alarm
    assert unwrap_sns({"Type": "Notification", "Message": "plain text"}) == "plain text"
    assert unwrap_sns("text") == "text"
