"""Alerts and the inbox over HTTP, on the emulator: alerts set through the API, prices
published as QuoteUpdated to SNS and consumed off the notifier's queue (one of the test's
own, subscribed like the service's), fires in the alert's stream and the owner's inbox.
Also: a restart between two quotes, a duplicated quote, expiry, and notifications made
from another service's events."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import pytest_asyncio

from marketscope_platform.aws import AwsSettings

from .notifier_support import (
    Notifier,
    alert_events,
    analysis_done,
    private_notifier,
    symbol,
    user,
    wait_until,
)

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def notifier(
    provisioned: str, aws_settings: AwsSettings, internal_key: str
) -> AsyncIterator[Notifier]:
    async with private_notifier(aws_settings, internal_key) as running:
        yield running


async def test_alerts_are_the_owners_and_bad_ones_are_422(notifier: Notifier) -> None:
    owner, other = user(), user()
    ticker = symbol()
    async with notifier.running():
        async with notifier.client(owner) as client:
            created = await client.post(
                "/alerts",
                json={"symbol": ticker.lower(), "condition": {"kind": "crossing", "level": 100}},
            )
            assert created.status_code == 201, created.text
            alert = created.json()
            alert_id = alert["alert_id"]
            assert alert["symbol"] == ticker
            assert alert["description"] == "crosses 100.00"
            assert alert["frequency"] == {"kind": "once"}
            assert created.headers["location"] == f"/alerts/{alert_id}"
            changed = await client.patch(
                f"/alerts/{alert_id}",
                json={"frequency": {"kind": "every_time", "cooldown_seconds": 60}, "note": "hi"},
            )
            assert changed.status_code == 200, changed.text
            assert changed.json()["frequency"]["cooldown_seconds"] == 60
            assert changed.json()["condition"] == {"kind": "crossing", "level": 100.0}
            paused = await client.post(f"/alerts/{alert_id}/pause")
            assert paused.json()["status"] == "paused"
            resumed = await client.post(f"/alerts/{alert_id}/resume")
            assert resumed.json()["status"] == "active"
            listed = (await client.get("/alerts")).json()["items"]
            assert [item["alert_id"] for item in listed] == [alert_id]
            bad = await client.post(
                "/alerts",
                json={
                    "symbol": ticker,
                    "condition": {"kind": "entering_channel", "low": 110, "high": 100},
                },
            )
            assert bad.status_code == 422
            assert bad.headers["content-type"].startswith("application/problem+json")
            assert "low is above its high" in bad.text
            past = await client.post(
                "/alerts",
                json={
                    "symbol": ticker,
                    "condition": {"kind": "greater_than", "level": 1},
                    "expires_at": "2001-01-01T00:00:00Z",
                },
            )
            assert past.status_code == 422
        async with notifier.client(other) as client:
            assert (await client.get(f"/alerts/{alert_id}")).status_code == 404
            assert (await client.delete(f"/alerts/{alert_id}")).status_code == 404
            assert (await client.get("/alerts")).json()["items"] == []
        async with notifier.client(owner) as client:
            assert (await client.delete(f"/alerts/{alert_id}")).status_code == 204
            assert (await client.get(f"/alerts/{alert_id}")).status_code == 404
            assert (await client.get("/alerts")).json()["items"] == []


async def test_a_wobble_around_the_level_fires_once_until_it_rearms(notifier: Notifier) -> None:
    owner, ticker = user(), symbol()
    async with notifier.running() as app, notifier.client(owner) as client:
        created = await client.post(
            "/alerts",
            json={
                "symbol": ticker,
                "condition": {"kind": "crossing_up", "level": 100},
                "frequency": {"kind": "every_time", "hysteresis_pct": 0.5},
            },
        )
        alert_id = created.json()["alert_id"]
        prices = ["99.00", "100.20", "99.90", "100.10", "99.80", "100.30", "99.40", "100.20"]
        for day, price in enumerate(prices, start=1):
            await notifier.evaluated(ticker, price, day)
        # primed, fired, re-armed (99.40 is past the band), fired again
        names = await alert_events(app, alert_id)
        inbox = (await client.get("/notifications")).json()["items"]
        count = (await client.get("/notifications/unread-count")).json()
    assert names == [
        "AlertCreated",
        "AlertObserved",
        "AlertTriggered",
        "NotificationCreated",
        "AlertRearmed",
        "AlertTriggered",
        "NotificationCreated",
    ]
    assert [n["kind"] for n in inbox] == ["alert", "alert"]
    assert inbox[0]["title"] == f"{ticker} crosses up through 100.00"
    assert "100.20" in inbox[0]["body"]
    assert inbox[0]["link"] == f"/api/v1/alerts/{alert_id}"
    assert count == {"unread": 2}


async def test_a_restart_between_two_quotes_keeps_the_state(notifier: Notifier) -> None:
    owner, ticker = user(), symbol()
    async with notifier.running() as app, notifier.client(owner) as client:
        created = await client.post(
            "/alerts", json={"symbol": ticker, "condition": {"kind": "crossing", "level": 50}}
        )
        alert_id = created.json()["alert_id"]
        await notifier.evaluated(ticker, "49.00", 1)  # primes it below the level
    async with notifier.running() as app, notifier.client(owner) as client:
        await notifier.evaluated(ticker, "51.00", 2)
        names = await alert_events(app, alert_id)
        alert = (await client.get(f"/alerts/{alert_id}")).json()
    assert names[-2:] == ["AlertTriggered", "NotificationCreated"]
    assert alert["status"] == "triggered"  # once: it has ended
    assert alert["fire_count"] == 1


async def test_a_duplicated_quote_fires_once(notifier: Notifier) -> None:
    owner, ticker = user(), symbol()
    async with notifier.running() as app, notifier.client(owner) as client:
        created = await client.post(
            "/alerts",
            json={
                "symbol": ticker,
                "condition": {"kind": "greater_than", "level": 10},
                "frequency": {"kind": "every_time"},
            },
        )
        alert_id = created.json()["alert_id"]
        quote = await notifier.evaluated(ticker, "11.00", 1)
        sqs = await notifier.aws.client("sqs")
        for _ in range(2):  # the same envelope again, as SNS or SQS may deliver it
            await sqs.send_message(QueueUrl=notifier.queue.queue.url, MessageBody=quote.to_json())
        later = await notifier.evaluated(ticker, "12.00", 2)  # still above: disarmed
        await asyncio.sleep(1.0)
        names = await alert_events(app, alert_id)
        inbox = (await client.get("/notifications")).json()["items"]
    assert names.count("AlertTriggered") == 1
    assert len(inbox) == 1
    assert later.data["price"] == "12.00"


async def test_an_expired_alert_ends_at_its_next_price(notifier: Notifier) -> None:
    owner, ticker = user(), symbol()
    async with notifier.running() as app, notifier.client(owner) as client:
        created = await client.post(
            "/alerts",
            json={
                "symbol": ticker,
                "condition": {"kind": "less_than", "level": 5},
                "expires_at": (datetime.now(UTC) + timedelta(seconds=1)).isoformat(),
            },
        )
        alert_id = created.json()["alert_id"]
        await asyncio.sleep(1.5)
        await notifier.evaluated(ticker, "4.00", 1)
        names = await alert_events(app, alert_id)
        alert = (await client.get(f"/alerts/{alert_id}")).json()
    assert names == ["AlertCreated", "AlertExpired"]
    assert alert["status"] == "expired"


async def test_a_move_over_its_window_fires(notifier: Notifier) -> None:
    owner, ticker = user(), symbol()
    async with notifier.running() as app, notifier.client(owner) as client:
        created = await client.post(
            "/alerts",
            json={
                "symbol": ticker,
                "condition": {"kind": "moving_up_pct", "percent": 5, "window_seconds": 3 * 86400},
            },
        )
        alert_id = created.json()["alert_id"]
        for day, price in [(1, "100.00"), (2, "102.00"), (5, "104.00"), (6, "110.00")]:
            await notifier.evaluated(ticker, price, day)
        names = await alert_events(app, alert_id)
        inbox = (await client.get("/notifications")).json()["items"]
    # Day 5 is 4 % above day 2's price (the one 3 days earlier); day 6 is 7.8 % above it.
    assert names == ["AlertCreated", "AlertTriggered", "NotificationCreated"]
    assert "110.00" in inbox[0]["body"]


async def test_another_services_events_become_notifications(notifier: Notifier) -> None:
    owner = user()
    completed = analysis_done(owner)
    analysis_id = completed.subject
    async with notifier.running(), notifier.client(owner) as client:
        for _ in range(2):  # delivered twice: one notification
            await notifier.publisher.publish(completed)

        async def inbox() -> list[dict[str, Any]]:
            items: list[dict[str, Any]] = (await client.get("/notifications")).json()["items"]
            return items

        [notification] = await wait_until(inbox, "the analysis notification")
        await asyncio.sleep(1.0)
        assert len(await inbox()) == 1
        assert notification["kind"] == "analysis"
        assert notification["title"] == "Stock analysis: AAPL"
        assert notification["link"] == f"/api/v1/analyses/{analysis_id}"
        marked = await client.post(f"/notifications/{notification['notification_id']}/read")
        assert marked.status_code == 204
        assert (await client.get("/notifications/unread-count")).json() == {"unread": 0}
        assert (await client.get("/notifications", params={"unread": True})).json()["items"] == []
        missing = await client.post("/notifications/ntf_0000/read")
        assert missing.status_code == 404
    async with notifier.running(), notifier.client(user()) as client:
        assert (await client.get("/notifications")).json()["items"] == []
