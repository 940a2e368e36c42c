"""The dashboard's watchlist: symbols added and removed through the gateway's watchlist
API, an unknown symbol refused with market-data's problem (and the symbols there are
offered, one click adding one), and a QuoteUpdated published
to SNS as market-data publishes it arriving in the row through the WebSocket."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal

from playwright.async_api import expect

from marketscope_events import CATALOG, SnsPublisher, TopicDirectory
from marketscope_events.catalog import QuoteUpdated
from marketscope_platform import AwsClients

from ..stack import Stack, in_stack_loop
from .browser import WebApp

WATCHLIST = re.compile(r"/api/v1/watchlist$")


async def add(web: WebApp, symbol: str) -> dict[str, object]:
    async with web.page.expect_response(WATCHLIST) as saved:
        await web.page.get_by_label("Add a symbol").fill(symbol)
        await web.page.get_by_role("button", name="Add", exact=True).click()
    response = await saved.value
    body: dict[str, object] = await response.json()
    return {"status": response.status, **body}


async def publish_quote(
    stack: Stack, symbol: str, price: str, previous: str, as_of: datetime | None = None
) -> str:
    """A QuoteUpdated on SNS as market-data publishes it (market time now, unless given)."""
    async with AwsClients(stack.aws_settings) as aws:
        topics = await TopicDirectory.from_sts(await aws.client("sts"), "us-east-1")
        change = Decimal(price) - Decimal(previous)
        event = CATALOG.new_event(
            QuoteUpdated(
                symbol=symbol,
                price=Decimal(price),
                previous_price=Decimal(previous),
                change=change,
                change_percent=(change / Decimal(previous) * 100).quantize(Decimal("0.0001")),
                as_of=as_of or datetime.now(UTC),
                provider="replay",
            ),
            subject=f"Quote#{symbol}",
        )
        await SnsPublisher(await aws.client("sns"), topics).publish(event)
        return event.id


@in_stack_loop
async def test_watchlist_edits_and_a_live_tick(web: WebApp, stack: Stack) -> None:
    await web.sign_up("web-dashboard")
    page = web.page
    await expect(page.locator(".status.empty")).to_contain_text("Your watchlist is empty")

    for symbol in ("AAPL", "IBM", "MSFT", "GOOG"):
        saved = await add(web, symbol)
        assert saved["status"] == 200
        assert symbol in saved["symbols"]  # type: ignore[operator]
    refused = await add(web, "NOPE9")
    assert refused["status"] == 422
    await expect(page.locator(".problem-title")).to_have_text(str(refused["title"]))
    await expect(page.locator(".problem-detail")).to_have_text(str(refused["detail"]))
    # The offline replay's symbols are a closed list: those not on the watchlist yet are
    # offered, and one click adds one.
    known = refused["known_symbols"]
    assert isinstance(known, list)
    assert {"AAPL", "IBM", "MSFT", "GOOG", "^GSPC"} <= set(known)
    offered = page.locator(".suggestions button")
    await expect(offered).to_have_text(
        [s for s in known if s not in {"AAPL", "IBM", "MSFT", "GOOG"}]
    )
    async with page.expect_response(WATCHLIST) as suggested:
        await page.get_by_role("button", name="Add ^GSPC").click()
    assert (await (await suggested.value).json())["symbols"][-1] == "^GSPC"
    await expect(page.locator("tr[data-symbol='^GSPC']")).to_have_count(1)
    await expect(page.locator(".suggestions")).to_have_count(0)
    async with page.expect_response(WATCHLIST) as unsuggested:
        await page.get_by_role("button", name="Remove ^GSPC").click()
    assert "^GSPC" not in (await (await unsuggested.value).json())["symbols"]

    async with page.expect_response(WATCHLIST) as removed:
        await page.get_by_role("button", name="Remove GOOG").click()
    assert (await (await removed.value).json())["symbols"] == ["AAPL", "IBM", "MSFT"]
    rows = page.locator("table.watchlist tbody tr")
    await expect(rows).to_have_count(3)
    ibm = page.locator("tr[data-symbol='IBM']")
    # Each row shows its REST quote and a one-month sparkline before anything is live.
    await expect(ibm.locator("td.price")).to_have_text(re.compile(r"^\d[\d,]*\.\d\d$"))
    await expect(page.locator("tr .sparkline polyline")).to_have_count(3)
    await expect(page.locator(".live-state")).to_have_text("Live")

    event_id = await publish_quote(stack, "IBM", "321.09", "300.00")
    await expect(ibm).to_have_attribute("data-tick", event_id)
    await expect(ibm.locator("td.price")).to_have_text("321.09")
    await expect(ibm.locator("td.up")).to_have_count(2)  # change and change %
    await expect(ibm.locator("td.up").first).to_have_text("▲+21.09")
    # It came over the page's own socket (a first quote of a symbol publishes one too).
    assert event_id in [f["event_id"] for f in web.events("QuoteUpdated")]
    await web.check_and_capture("dashboard")
