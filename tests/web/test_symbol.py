"""The symbol page: the chart holds as many candles as the history API answers for the
chosen interval, switches interval and redraws its panes as the reader asks, and shows
the risk figures, the profile and the live quote's line."""

from __future__ import annotations

import re

from playwright.async_api import expect

from ..stack import Stack, in_stack_loop
from .browser import WebApp


async def bar_count(stack: Stack, interval: str, period: str) -> int:
    history = await stack.client.get(
        "/api/v1/history/AAPL",
        params={"interval": interval, "period": period},
        headers=stack.a.headers,
    )
    assert history.status_code == 200, history.text
    count = len(history.json()["bars"])
    assert count > 0
    return count


@in_stack_loop
async def test_the_chart_draws_the_history_and_follows_the_controls(
    web: WebApp, stack: Stack
) -> None:
    await web.sign_up("web-symbol")
    await web.go("/symbols/aapl")
    page = web.page
    await expect(page.get_by_role("heading", level=1)).to_contain_text("AAPL")
    chart = page.locator(".chart")
    daily = await bar_count(stack, "1d", "6mo")
    await expect(chart).to_have_attribute("data-bars", str(daily))
    await expect(chart).to_have_attribute("aria-label", re.compile(f"^Daily .*: {daily} bars"))
    await expect(chart).to_have_attribute("data-panes", "3")  # price, RSI, MACD
    await expect(chart.locator("canvas").first).to_be_visible()

    await page.get_by_label("Weekly").check()
    weekly = await bar_count(stack, "1wk", "2y")
    assert weekly != daily
    await expect(chart).to_have_attribute("data-bars", str(weekly))
    await expect(page.get_by_label("Period")).to_have_value("2y")
    await page.get_by_label("MACD 12, 26, 9").uncheck()
    await expect(chart).to_have_attribute("data-panes", "2")
    await page.get_by_label("RSI 14").uncheck()
    await expect(chart).to_have_attribute("data-panes", "1")

    figures = page.locator("section", has=page.get_by_role("heading", name=re.compile("^Risk")))
    await expect(
        figures.get_by_role("row", name=re.compile(r"^Beta against \^GSPC"))
    ).to_be_visible()
    await expect(page.get_by_role("row", name=re.compile("^RSI 14"))).to_be_visible()
    await expect(page.locator(".quote-line .price")).to_have_text(re.compile(r"^\d[\d,]*\.\d\d"))
    await expect(page.locator("section", has_text="Profile").locator("dl.facts")).to_be_visible()
    assert await page.locator(".problem").count() == 0
    await web.check_and_capture("symbol")
