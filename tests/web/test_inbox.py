"""The inbox: empty at first; notifications of alerts fired by a QuoteUpdated published to
SNS as market-data publishes it arriving live from the `notifications` channel, unread and
newest first, with the header's unread badge; one marked read, pages of two, and all
marked read, the badge following each step."""

from __future__ import annotations

import re
from typing import Any

from playwright.async_api import expect

from ..stack import Stack, in_stack_loop
from .browser import WebApp
from .test_alerts import login
from .test_dashboard import publish_quote

SYMBOL = "MSFT"
LEVELS = (1.0, 2.0, 3.0)


async def inbox_ids(stack: Stack, headers: dict[str, str]) -> list[str]:
    response = await stack.client.get("/api/v1/notifications", headers=headers)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return [item["notification_id"] for item in items]


@in_stack_loop
async def test_notifications_arrive_live_and_are_read(web: WebApp, stack: Stack) -> None:
    email = await web.sign_up("web-inbox")
    headers = await login(stack, email)
    page = web.page
    await page.get_by_role("link", name=re.compile("^Inbox")).click()
    await page.get_by_role("heading", name="Inbox", level=1).wait_for()
    await expect(page.locator(".status.empty")).to_contain_text("Your inbox is empty")
    await expect(page.get_by_role("button", name="Mark all read")).to_be_disabled()
    badge = page.locator(".site-header .unread-badge")
    await expect(badge).to_be_hidden()

    quote = await stack.client.get(f"/api/v1/quotes/{SYMBOL}", headers=headers)
    assert quote.status_code == 200, quote.text
    price = float(quote.json()["price"])
    for level in LEVELS:
        made = await stack.client.post(
            "/api/v1/alerts",
            headers=headers,
            json={"symbol": SYMBOL, "condition": {"kind": "greater_than", "level": level}},
        )
        assert made.status_code == 201, made.text
    await publish_quote(stack, SYMBOL, f"{price:.2f}", f"{price:.2f}")

    items = page.locator("li.notification")
    await expect(items).to_have_count(3)
    await expect(page.locator("li.notification[data-read='false']")).to_have_count(3)
    await expect(badge).to_have_attribute("data-count", "3")
    await expect(badge).to_be_visible()
    titles = [f"{SYMBOL} is above {level:.2f}" for level in LEVELS]
    for title in titles:
        await expect(items.filter(has_text=title)).to_have_count(1)
    live = {f["data"]["notification_id"] for f in web.events("NotificationCreated")}
    stored = await inbox_ids(stack, headers)
    assert set(stored) == live
    assert len(stored) == 3

    # Read again, newest first as the API lists them; one marked read.
    await web.go("/")
    await page.get_by_role("heading", name="Dashboard", level=1).wait_for()
    await web.go("/inbox")
    await expect(items).to_have_count(3)
    shown = [await item.get_attribute("data-notification-id") for item in await items.all()]
    assert shown == stored
    first = page.locator(f"li.notification[data-notification-id='{stored[0]}']")
    await first.get_by_role("button", name=re.compile("^Mark read")).click()
    await expect(first).to_have_attribute("data-read", "true")
    await expect(first).not_to_have_class(re.compile(r"\bunread\b"))
    await expect(badge).to_have_attribute("data-count", "2")

    # Pages of two: the third is on the next page.
    await web.go("/inbox?limit=2")
    await expect(items).to_have_count(2)
    older = page.get_by_role("button", name="Show older notifications")
    await older.click()
    await expect(items).to_have_count(3)
    await expect(older).to_be_hidden()
    shown = [await item.get_attribute("data-notification-id") for item in await items.all()]
    assert shown == stored
    await expect(page.locator("li.notification[data-read='false']")).to_have_count(2)
    await web.check_and_capture("inbox")

    await page.get_by_role("button", name="Mark all read").click()
    await expect(page.locator(".feedback")).to_have_text("Marked 2 notifications read.")
    await expect(page.locator("li.notification[data-read='true']")).to_have_count(3)
    await expect(badge).to_be_hidden()
    await expect(badge).to_have_attribute("data-count", "0")
    unread = await stack.client.get("/api/v1/notifications/unread-count", headers=headers)
    assert unread.json() == {"unread": 0}
