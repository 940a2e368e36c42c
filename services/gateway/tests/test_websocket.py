"""WebSocket push end to end on the emulator: events published the way the producing
services publish them travel SNS -> this instance's SQS queue -> the gateway -> the
subscribed clients, and only those entitled to them."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from marketscope_events import CATALOG, DynamoDBEventStore, Envelope, OutboxRelay
from marketscope_events.catalog import AnalysisProgressed, DocumentIndexed, QuoteUpdated
from marketscope_events.publishing import SnsPublisher, TopicDirectory
from marketscope_platform import AwsClients
from marketscope_platform.topology import SERVICES

from .conftest import MakeGateway
from .wsclient import next_message, nothing_within, socket, subscribe, ws_url

pytestmark = pytest.mark.integration


async def publish_quote(aws: AwsClients, symbol: str, price: str) -> Envelope:
    """As market-data does: append to its Quote stream with the outbox marker, then let
    the relay publish to SNS."""
    store = DynamoDBEventStore(await aws.client("dynamodb"), SERVICES["market-data"].table)
    topics = await TopicDirectory.from_sts(await aws.client("sts"), aws.settings.default_region)
    relay = OutboxRelay(store, SnsPublisher(await aws.client("sns"), topics))
    stream = f"Quote#{symbol}"
    quote = QuoteUpdated(
        symbol=symbol,
        price=Decimal(price),
        previous_price=Decimal("100"),
        change=Decimal(price) - 100,
        change_percent=Decimal("1.0000"),
        as_of=datetime.now(UTC),
        provider="replay",
    )
    event = CATALOG.new_event(quote, subject=stream)
    await store.append(stream, [event], expected_version=await store.current_version(stream))
    await relay.publish_pending()
    return event


async def publish(aws: AwsClients, envelope: Envelope) -> None:
    topics = await TopicDirectory.from_sts(await aws.client("sts"), aws.settings.default_region)
    await SnsPublisher(await aws.client("sns"), topics).publish(envelope)


def document_indexed(owner: str) -> Envelope:
    data = DocumentIndexed(
        document_id=uuid.uuid4().hex,
        owner=owner,
        version_id="v1",
        chunk_count=3,
        embedding_model="minilm",
        duration_ms=12,
        indexed_at=datetime.now(UTC),
    )
    return CATALOG.new_event(data, subject=f"Document#{data.document_id}")


def analysis_progressed(owner: str) -> Envelope:
    data = AnalysisProgressed(
        analysis_id=uuid.uuid4().hex,
        owner=owner,
        stage="gathering",
        percent=10,
        message="Quotes and history",
        at=datetime.now(UTC),
    )
    return CATALOG.new_event(data, subject=f"Analysis#{data.analysis_id}")


async def test_quote_updates_reach_only_that_symbols_subscribers(
    make_served_gateway: MakeGateway, aws: AwsClients
) -> None:
    symbol, other = "AAPL", f"Z{uuid.uuid4().hex[:5].upper()}"
    async with make_served_gateway() as gw:
        _, _, tokens_a = await gw.user()
        _, _, tokens_b = await gw.user()
        async with (
            socket(gw, tokens_a["access_token"]) as ws_a,
            socket(gw, tokens_b["access_token"]) as ws_b,
        ):
            await subscribe(ws_a, "quotes:aapl")  # symbols are upper-cased
            await subscribe(ws_b, f"quotes:{other}")
            published = await publish_quote(aws, symbol, "187.25")
            event = await next_message(ws_a)
            assert event["type"] == "event"
            assert event["channel"] == "quotes:AAPL"
            assert event["event"] == "QuoteUpdated"
            assert event["event_id"] == published.id
            assert event["data"]["symbol"] == "AAPL"
            assert event["data"]["price"] == "187.25"
            assert await nothing_within(ws_b, 1.5)
            # B is live all the same: its own symbol arrives.
            await publish_quote(aws, other, "12.5")
            assert (await next_message(ws_b))["data"]["symbol"] == other
            assert await nothing_within(ws_a, 0.5)


async def test_owned_events_reach_their_owner_only(
    make_served_gateway: MakeGateway, aws: AwsClients
) -> None:
    async with make_served_gateway() as gw:
        _, _, tokens_a = await gw.user()
        _, _, tokens_b = await gw.user()
        async with (
            socket(gw, tokens_a["access_token"]) as ws_a,
            socket(gw, tokens_b["access_token"]) as ws_b,
        ):
            await subscribe(ws_a, "documents")
            await subscribe(ws_b, "documents")
            indexed = document_indexed(tokens_a["user"]["user_id"])
            await publish(aws, indexed)
            event = await next_message(ws_a)
            assert event["event"] == "DocumentIndexed"
            assert event["data"]["document_id"] == indexed.data["document_id"]
            assert await nothing_within(ws_b, 1.5)


async def test_analysis_progress_reaches_its_owners_analyses_subscription_only(
    make_served_gateway: MakeGateway, aws: AwsClients
) -> None:
    async with make_served_gateway() as gw:
        _, _, tokens_a = await gw.user()
        _, _, tokens_b = await gw.user()
        async with (
            socket(gw, tokens_a["access_token"]) as watching,
            socket(gw, tokens_a["access_token"]) as elsewhere,
            socket(gw, tokens_b["access_token"]) as stranger,
        ):
            await subscribe(watching, "analyses")
            await subscribe(elsewhere, "notifications")
            await subscribe(stranger, "analyses")
            progressed = analysis_progressed(tokens_a["user"]["user_id"])
            await publish(aws, progressed)
            event = await next_message(watching)
            assert event["channel"] == "analyses"
            assert event["event"] == "AnalysisProgressed"
            assert event["event_id"] == progressed.id
            assert event["data"]["percent"] == 10
            assert await nothing_within(stranger, 1.5)
            assert await nothing_within(elsewhere, 0.2)


async def test_every_instance_sees_every_event_and_removes_its_queue(
    make_served_gateway: MakeGateway, aws: AwsClients
) -> None:
    sqs = await aws.client("sqs")
    async with make_served_gateway() as gw1, make_served_gateway() as gw2:
        queues = {gw.app.state.components.live_feed.queue_name for gw in (gw1, gw2)}
        assert len(queues) == 2
        _, _, tokens = await gw1.user()
        async with (
            socket(gw1, tokens["access_token"]) as ws1,
            socket(
                gw2,
                tokens["access_token"],  # one signing key: a token works on any instance
            ) as ws2,
        ):
            await subscribe(ws1, "quotes:MSFT")
            await subscribe(ws2, "quotes:MSFT")
            published = await publish_quote(aws, "MSFT", "30.10")
            assert (await next_message(ws1))["event_id"] == published.id
            assert (await next_message(ws2))["event_id"] == published.id
    for name in queues:
        with pytest.raises(sqs.exceptions.QueueDoesNotExist):
            await sqs.get_queue_url(QueueName=name)


async def test_auth_by_first_message_heartbeats_and_protocol_errors(
    make_served_gateway: MakeGateway,
) -> None:
    async with make_served_gateway(ws_heartbeat_seconds=0.3, ws_max_subscriptions=2) as gw:
        _, _, tokens = await gw.user()
        async with connect(ws_url(gw)) as ws:
            await ws.send(json.dumps({"type": "auth", "token": tokens["access_token"]}))
            welcome = await next_message(ws)
            assert welcome["user_id"] == tokens["user"]["user_id"]
            assert welcome["max_subscriptions"] == 2
            heartbeat = await next_message(ws, skip="none")
            assert heartbeat["type"] == "heartbeat"
            await ws.send("not json")
            assert (await next_message(ws))["code"] == "invalid_message"
            await ws.send(json.dumps({"type": "subscribe", "channel": "everything"}))
            assert (await next_message(ws))["code"] == "invalid_message"
            await subscribe(ws, "quotes:A")
            await subscribe(ws, "notifications")
            await ws.send(json.dumps({"type": "subscribe", "channel": "quotes:B"}))
            assert (await next_message(ws))["code"] == "too_many_subscriptions"
            await ws.send(json.dumps({"type": "ping", "id": "7"}))
            assert await next_message(ws) == {"type": "pong", "id": "7"}


async def test_unauthenticated_sockets_are_closed_4401(make_served_gateway: MakeGateway) -> None:
    async with make_served_gateway(ws_auth_timeout=0.5) as gw:
        async with connect(ws_url(gw), additional_headers={"Authorization": "Bearer nope"}) as ws:
            assert (await next_message(ws))["code"] == "unauthenticated"
            with pytest.raises(ConnectionClosed) as closed:
                await ws.recv()
            assert closed.value.rcvd is not None
            assert closed.value.rcvd.code == 4401
        async with connect(ws_url(gw)) as silent:  # never sends auth
            assert (await next_message(silent))["code"] == "unauthenticated"
            with pytest.raises(ConnectionClosed):
                await silent.recv()


async def test_a_deeply_nested_frame_is_an_invalid_message_and_the_socket_stays(
    make_served_gateway: MakeGateway,
) -> None:
    async with make_served_gateway() as gw:
        _, _, tokens = await gw.user()
        async with socket(gw, tokens["access_token"]) as ws:
            await ws.send("[" * 1200 + "]" * 1200)  # 2.4 KB, under the size limit
            error = await next_message(ws)
            assert error["type"] == "error"
            assert error["code"] == "invalid_message"
            assert "deeper than 64" in error["message"]
            await ws.send('{"type": "ping", "id": ' + "[" * 600 + "]" * 600 + "}")
            assert (await next_message(ws))["code"] == "invalid_message"
            await ws.send("x" * 5000)
            assert "at most 4096" in (await next_message(ws))["message"]
            await ws.send(json.dumps({"type": "ping", "id": "after"}))
            assert await next_message(ws) == {"type": "pong", "id": "after"}
