"""An alert the whole way, on the real stack: set through the gateway (which asks
market-data whether the symbol exists), a price published as market-data publishes it,
the notifier's evaluation off its queue, and the NotificationCreated on the owner's
WebSocket `notifications` channel and in the inbox, which no other user sees."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from marketscope_events import CATALOG, SnsPublisher, TopicDirectory
from marketscope_events.catalog import QuoteUpdated
from marketscope_platform import AwsClients

from ...live import socket
from ...stack import Stack, in_stack_loop


async def publish_quote(stack: Stack, symbol: str, price: str, as_of: datetime) -> None:
    async with AwsClients(stack.aws_settings) as aws:
        topics = await TopicDirectory.from_sts(await aws.client("sts"), "us-east-1")
        event = CATALOG.new_event(
            QuoteUpdated(
                symbol=symbol,
                price=Decimal(price),
                previous_price=None,
                change=None,
                change_percent=None,
                as_of=as_of,
                provider="replay",
            ),
            subject=f"Quote#{symbol}",
        )
        await SnsPublisher(await aws.client("sns"), topics).publish(event)


def notification_of(alert_id: str) -> Any:
    def matches(frame: dict[str, Any]) -> bool:
        return (
            frame["type"] == "event"
            and frame["channel"] == "notifications"
            and frame["data"].get("link") == f"/api/v1/alerts/{alert_id}"
        )

    return matches


@in_stack_loop
async def test_an_alert_fires_to_the_owners_socket_and_inbox(stack: Stack) -> None:
    owner, other = await stack.api.register("alerts"), await stack.api.register("bystander")
    unknown = await stack.client.post(
        "/api/v1/alerts",
        json={"symbol": "NOPE9", "condition": {"kind": "greater_than", "level": 1}},
        headers=owner.headers,
    )
    assert unknown.status_code == 422, unknown.text
    assert "NOPE9" in unknown.json()["detail"]
    # IBM is a replay symbol market-data knows; the prices below are far from its own.
    created = await stack.client.post(
        "/api/v1/alerts",
        json={"symbol": "IBM", "condition": {"kind": "crossing_up", "level": 10_000}},
        headers=owner.headers,
    )
    assert created.status_code == 201, created.text
    alert_id = created.json()["alert_id"]
    assert created.headers["location"] == f"/api/v1/alerts/{alert_id}"
    # Market time now: later than any replayed price, and not later than what the tests
    # after this one publish for IBM (the notifier takes an older quote for a stale one).
    as_of = datetime.now(UTC).replace(microsecond=0)
    async with socket(stack, owner) as mine, socket(stack, other) as theirs:
        for opened in (mine, theirs):
            reply = await opened.request(
                {"type": "subscribe", "channel": "notifications", "id": "n"}
            )
            assert reply["type"] == "subscribed", reply
        await publish_quote(stack, "IBM", "9990.00", as_of)
        # The first price primes the crossing; wait until it has before the next.
        async with AwsClients(stack.aws_settings) as aws:
            dynamodb = await aws.client("dynamodb")
            key = {"pk": {"S": "Prices#IBM"}, "sk": {"N": str(int(as_of.timestamp()))}}
            for _ in range(300):
                if "Item" in await dynamodb.get_item(TableName="marketscope-notifier", Key=key):
                    break
                await asyncio.sleep(0.1)
            else:
                raise AssertionError("the notifier never evaluated the priming quote")
        await publish_quote(stack, "IBM", "10010.00", as_of + timedelta(seconds=1))
        frame = await mine.wait_for(notification_of(alert_id))
        seen_by_other = [f for f in theirs.frames if f["type"] == "event"]
    assert frame["event"] == "NotificationCreated"
    assert frame["data"]["kind"] == "alert"
    assert frame["data"]["title"] == "IBM crosses up through 10000.00"
    assert seen_by_other == []
    inbox = await stack.client.get("/api/v1/notifications", headers=owner.headers)
    assert [n["notification_id"] for n in inbox.json()["items"]] == [
        frame["data"]["notification_id"]
    ]
    unread = await stack.client.get("/api/v1/notifications/unread-count", headers=owner.headers)
    assert unread.json() == {"unread": 1}
    assert (await stack.client.get("/api/v1/notifications", headers=other.headers)).json()[
        "items"
    ] == []
    assert (
        await stack.client.get(f"/api/v1/alerts/{alert_id}", headers=other.headers)
    ).status_code == 404
    alert = (await stack.client.get(f"/api/v1/alerts/{alert_id}", headers=owner.headers)).json()
    assert alert["status"] == "triggered"
