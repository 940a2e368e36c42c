"""The symbol page: the chart holds as many candles as the history API answers for the
chosen interval, switches interval and redraws its panes as the reader asks, and shows
the risk figures, the profile and the live quote's line. A live quote of a later day
opens that day's candle, so the chart keeps up with the quote line above it."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

from playwright.async_api import expect

from ..stack import Stack, in_stack_loop
from .browser import WebApp
from .test_dashboard import publish_quote


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


@in_stack_loop
async def test_a_later_days_quote_opens_its_candle(web: WebApp, stack: Stack) -> None:
    await web.sign_up("web-symbol-live")
    await web.go("/symbols/AAPL")
    page = web.page
    chart = page.locator(".chart")
    await expect(chart).to_have_attribute("data-last", re.compile(r"^\d{4}-\d\d-\d\d "))
    await expect(page.locator(".live-state")).to_have_text("Live")
    bars = int(await chart.get_attribute("data-bars") or 0)
    last_day, last_close = str(await chart.get_attribute("data-last")).split()
    # A week past the last bar: the replay's own ticks (one market day each) stay behind it
    # for the whole test, and an older day's price changes no candle.
    day = date.fromisoformat(last_day) + timedelta(days=7)
    market_close = datetime(day.year, day.month, day.day, 21, tzinfo=UTC)

    await publish_quote(stack, "AAPL", "777.77", last_close, market_close)
    await expect(page.locator(".quote-line .price")).to_have_text(re.compile(r"^777\.77 "))
    await expect(chart).to_have_attribute("data-last", f"{day.isoformat()} 777.77")
    assert int(await chart.get_attribute("data-bars") or 0) > bars
    # The same day's next price moves that candle instead of opening another.
    grown = await chart.get_attribute("data-bars")
    await publish_quote(stack, "AAPL", "770.01", "777.77", market_close + timedelta(minutes=1))
    await expect(chart).to_have_attribute("data-last", f"{day.isoformat()} 770.01")
    await expect(chart).to_have_attribute("data-bars", str(grown))

    # Weekly and monthly candles are dated as market-data resamples them (pandas' W-FRI
    # and ME): a Saturday belongs to the next Friday's week, a day to its month's last day.
    periods = await page.evaluate(
        """async () => {
          const { periodOf } = await import('/web/lib/chart.js');
          return ['2012-03-09', '2012-03-10', '2012-03-12'].map((d) => periodOf(d, '1wk'))
            .concat(['2012-02-03', '2012-12-31'].map((d) => periodOf(d, '1mo')));
        }"""
    )
    assert periods == ["2012-03-09", "2012-03-16", "2012-03-16", "2012-02-29", "2012-12-31"]
    assert web.errors == []
