"""The alerts page: the preview price lines on the chart following the form for each kind
of condition, a refused condition shown as notifier's problem, an alert set through the
page and fired by QuoteUpdated events published to SNS as market-data publishes them (the
row turns triggered and the header's unread badge goes up live, the inbox shows the
notification and marking it read takes the badge down), pause, resume and delete; and a
webhook channel to a receiver served here: its secret shown once, a test event, the
deliveries log and a redelivery."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from playwright.async_api import Page, expect

from marketscope_servicekit.testing import served

from ..stack import PASSWORD, Stack, in_stack_loop
from .browser import WebApp
from .test_dashboard import publish_quote

ALERTS = re.compile(r"/api/v1/alerts$")
PRIMED_SECONDS = 30.0


async def login(stack: Stack, email: str) -> dict[str, str]:
    """A session of the page's user of its own, for the test to read the alert's state."""
    response = await stack.client.post(
        "/api/v1/auth/login", json={"email": email, "password": PASSWORD}
    )
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


async def price_lines(page: Page) -> str:
    await page.wait_for_timeout(50)
    value: str = await page.locator(".alert-chart").get_attribute("data-price-lines") or ""
    return value


async def wait_primed(stack: Stack, headers: dict[str, str], alert_id: str) -> dict[str, Any]:
    """The alert has seen a first price (a crossing needs a side to cross from)."""
    deadline = time.monotonic() + PRIMED_SECONDS
    while True:
        response = await stack.client.get(f"/api/v1/alerts/{alert_id}", headers=headers)
        assert response.status_code == 200, response.text
        alert: dict[str, Any] = response.json()
        if alert["last_price"] is not None:
            return alert
        if time.monotonic() > deadline:
            raise AssertionError(f"{alert_id} saw no price: {alert}")
        await asyncio.sleep(0.3)


async def submit(page: Page) -> tuple[int, dict[str, Any]]:
    async with page.expect_response(
        lambda r: bool(ALERTS.search(r.url)) and r.request.method == "POST"
    ) as answered:
        await page.get_by_role("button", name="Create alert").click()
    response = await answered.value
    body: dict[str, Any] = await response.json()
    return response.status, body


@in_stack_loop
async def test_an_alert_previewed_set_fired_and_read(web: WebApp, stack: Stack) -> None:
    email = await web.sign_up("web-alerts")
    headers = await login(stack, email)
    quote = await stack.client.get("/api/v1/quotes/IBM", headers=headers)
    assert quote.status_code == 200, quote.text
    current = float(quote.json()["price"])
    level = round(current * 1.1, 2)
    page = web.page
    await web.go("/alerts")
    await page.get_by_role("heading", name="Alerts", level=1).wait_for()
    await expect(page.locator(".status.empty").first).to_contain_text("You have no alerts yet")
    await expect(page.get_by_text("You have no delivery channels")).to_be_visible()
    badge = page.locator(".site-header .unread-badge")
    await expect(badge).to_be_hidden()

    await page.get_by_label("Symbol", exact=True).fill("IBM")
    chart = page.locator(".alert-chart")
    await expect(chart).to_have_attribute("data-symbol", "IBM")
    await expect(chart).to_have_attribute("data-bars", re.compile(r"^[1-9]\d*$"))

    # The preview follows the form: one level, a channel's two edges, a percent move.
    condition = page.get_by_label("Condition", exact=True)
    await condition.select_option("crossing_up")
    await page.get_by_label("Level", exact=True).fill("123.5")
    await expect(chart).to_have_attribute("data-price-lines", "123.5")
    await page.get_by_label("Level", exact=True).fill("130")
    await expect(chart).to_have_attribute("data-price-lines", "130")
    await expect(page.locator(".alert-preview")).to_contain_text("crosses up through 130.00")
    await condition.select_option("entering_channel")
    await page.get_by_label("Channel low", exact=True).fill("90")
    await page.get_by_label("Channel high", exact=True).fill("110")
    await expect(chart).to_have_attribute("data-price-lines", "110 90")
    await condition.select_option("moving_down_pct")
    await page.get_by_label("Move (%)", exact=True).fill("10")
    # 10 % under the chart's last close.
    history = await stack.client.get(
        "/api/v1/history/IBM", params={"period": "6mo", "interval": "1d"}, headers=headers
    )
    assert history.status_code == 200, history.text
    target = history.json()["bars"][-1]["close"] * 0.9
    await expect(chart).to_have_attribute("data-price-lines", re.compile(r"^\d+(\.\d+)?$"))
    moved = await price_lines(page)
    assert abs(float(moved) - target) < 0.01, (moved, target)
    preview = page.locator(".alert-preview")
    await expect(preview).to_contain_text("IBM moves down 10% within 60 minutes")

    # A channel whose low is above its high: notifier's problem, as it said it.
    await condition.select_option("exiting_channel")
    await page.get_by_label("Channel low", exact=True).fill("120")
    await page.get_by_label("Channel high", exact=True).fill("100")
    status, refused = await submit(page)
    assert status == 422
    await expect(page.locator(".problem-title")).to_have_text(str(refused["title"]))
    await expect(page.locator(".problem-detail")).to_have_text(str(refused["detail"]))

    # The alert that will fire: crossing up through 110 % of the current price.
    await condition.select_option("crossing_up")
    await page.get_by_label("Level", exact=True).fill(str(level))
    await expect(chart).to_have_attribute("data-price-lines", str(level))
    await page.get_by_label("Note (optional)", exact=True).fill("Take profits")
    status, created = await submit(page)
    assert status == 201, created
    alert_id = created["alert_id"]
    row = page.locator(f"tr[data-alert-id='{alert_id}']")
    await expect(row).to_have_attribute("data-status", "active")
    await expect(row).to_contain_text(f"crosses up through {level:.2f}")

    await publish_quote(stack, "IBM", f"{current:.2f}", f"{current:.2f}")
    await wait_primed(stack, headers, alert_id)
    above = f"{level * 1.05:.2f}"
    await publish_quote(stack, "IBM", above, f"{current:.2f}")
    await expect(row).to_have_attribute("data-status", "triggered")
    await expect(badge).to_be_visible()
    await expect(badge).to_have_attribute("data-count", "1")
    assert [f for f in web.events("NotificationCreated") if f["channel"] == "notifications"]

    described = f"IBM crosses up through {level:.2f}"
    await page.get_by_role("button", name=f"History of the alert {described}").click()
    details = page.locator("tr.alert-details .alert-history")
    await expect(details.locator("dd").nth(2)).to_have_text("1")
    await expect(details.locator(".alert-fires li")).to_have_count(1)
    await expect(details.locator(".alert-fires li")).to_contain_text("Take profits")

    # Another one, every time with a cooldown and an expiry: paused, resumed, deleted.
    await condition.select_option("greater_than")
    await page.get_by_label("Level", exact=True).fill(str(round(current * 3, 2)))
    await page.get_by_label("Note (optional)", exact=True).fill("")
    cooldown = page.get_by_label("Cooldown (seconds)", exact=True)
    await expect(cooldown).to_be_hidden()
    await page.get_by_label("Every time", exact=True).check()
    await cooldown.fill("300")
    await page.get_by_label("Re-arm band (%)", exact=True).fill("1.5")
    await page.get_by_label("Expires (optional)", exact=True).fill("2099-01-02T03:04")
    status, second = await submit(page)
    assert status == 201, second
    assert second["frequency"] == {
        "kind": "every_time",
        "cooldown_seconds": 300,
        "hysteresis_pct": 1.5,
    }
    assert second["expires_at"].startswith("2099-01-02T03:04:00")
    other = page.locator(f"tr[data-alert-id='{second['alert_id']}']")
    await expect(page.locator("table.alerts tbody tr:not(.alert-details)").first).to_have_attribute(
        "data-alert-id", second["alert_id"]
    )
    await other.get_by_role("button", name=re.compile("^Pause")).click()
    await expect(other).to_have_attribute("data-status", "paused")
    await other.get_by_role("button", name=re.compile("^Resume")).click()
    await expect(other).to_have_attribute("data-status", "active")
    await web.check_and_capture("alerts")
    await other.get_by_role("button", name=re.compile("^Delete")).click()
    await expect(other).to_have_count(0)
    gone = await stack.client.get(f"/api/v1/alerts/{second['alert_id']}", headers=headers)
    assert gone.status_code == 404

    # The inbox has it; read, the badge goes down.
    await page.get_by_role("link", name=re.compile("^Inbox")).click()
    notification = page.locator("li.notification").first
    await expect(notification).to_contain_text(f"IBM crosses up through {level:.2f}")
    await expect(notification).to_have_attribute("data-read", "false")
    await notification.get_by_role("button", name=re.compile("^Mark read")).click()
    await expect(notification).to_have_attribute("data-read", "true")
    await expect(badge).to_be_hidden()
    await expect(badge).to_have_attribute("data-count", "0")


@asynccontextmanager
async def webhook_receiver() -> AsyncIterator[tuple[str, list[dict[str, Any]]]]:
    """A loopback receiver that answers 200 and keeps what it got."""
    received: list[dict[str, Any]] = []
    app = FastAPI()

    @app.post("/hook")
    async def hook(request: Request) -> dict[str, bool]:
        received.append({"headers": dict(request.headers), "body": await request.json()})
        return {"ok": True}

    async with served(app) as url:
        yield f"{url}/hook", received


@in_stack_loop
async def test_a_webhook_channel_tested_and_redelivered(web: WebApp, stack: Stack) -> None:
    await web.sign_up("web-channels")
    page = web.page
    await web.go("/alerts")
    await expect(page.get_by_text("You have no delivery channels")).to_be_visible()

    async with webhook_receiver() as (url, received):
        await page.get_by_label("Type", exact=True).select_option("webhook")
        await page.get_by_label("Webhook URL", exact=True).fill(url)
        await page.get_by_label("Description (optional)", exact=True).fill("Loopback receiver")
        async with page.expect_response(re.compile(r"/api/v1/notification-channels$")) as made:
            await page.get_by_role("button", name="Add channel").click()
        response = await made.value
        assert response.status == 201
        answer = await response.json()
        channel_id = answer["channel"]["channel_id"]
        secret = page.locator(f"code.secret[data-channel-id='{channel_id}']")
        await expect(secret).to_have_text(answer["secret"])
        assert answer["secret"].startswith("whsec_")
        row = page.locator(f"tr[data-channel-id='{channel_id}']")
        await expect(row).to_have_attribute("data-status", "active")
        await expect(row).to_contain_text(url)

        await row.get_by_role("button", name=re.compile("^Send test")).click()
        await expect(page.locator(".test-result")).to_contain_text("delivered (200)")
        assert [r["body"]["type"] for r in received] == ["channel.test"]
        webhook_id = received[0]["headers"]["webhook-id"]
        log = page.locator(f"section.deliveries[data-channel-id='{channel_id}']")
        delivery = log.locator(f"article.delivery[data-delivery-id='{webhook_id}']")
        await expect(delivery).to_have_attribute("data-attempts", "1")
        await expect(delivery.locator("tbody tr")).to_have_count(1)
        await expect(delivery.locator("tbody tr").first).to_contain_text("delivered")

        await delivery.get_by_role("button", name=re.compile("^Redeliver")).click()
        await expect(delivery).to_have_attribute("data-attempts", "2", timeout=40_000)
        await expect(log.locator(".feedback")).to_contain_text("Redelivered: attempt 2, delivered")
        await expect(delivery.locator("tbody tr").nth(1)).to_contain_text("manual")
        assert len(received) == 2
        assert received[1]["headers"]["webhook-id"] == webhook_id
        await web.check_and_capture("alerts-channels")
        # An SMS channel waits for its code; a wrong one is refused with notifier's problem.
        await page.get_by_label("Type", exact=True).select_option("sms")
        await page.get_by_label("Phone number", exact=True).fill("+15555550123")
        async with page.expect_response(re.compile(r"/api/v1/notification-channels$")) as made:
            await page.get_by_role("button", name="Add channel").click()
        sms = (await (await made.value).json())["channel"]
        sms_row = page.locator(f"tr[data-channel-id='{sms['channel_id']}']")
        await expect(sms_row).to_have_attribute("data-status", "pending_verification")
        async with page.expect_response(re.compile(r"/verify$")) as checked:
            await sms_row.get_by_label("Code sent by SMS").fill("000000")
            await sms_row.get_by_role("button", name="Verify").click()
        wrong = await checked.value
        assert wrong.status >= 400
        problem = await wrong.json()
        channels = page.locator("section.panel").filter(has_text="Delivery channels")
        await expect(channels.locator(".problem-title")).to_have_text(problem["title"])
        await expect(sms_row).to_have_attribute("data-status", "pending_verification")

        # The secret was shown once: read again, the page shows only its hint.
        await web.go("/")
        await page.get_by_role("heading", name="Dashboard", level=1).wait_for()
        await web.go("/alerts")
        await expect(row).to_be_visible()
        await expect(page.locator("code.secret")).to_have_count(0)
        await expect(page.get_by_text(answer["secret"])).to_have_count(0)
