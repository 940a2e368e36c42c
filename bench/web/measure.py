"""What the web benchmark measures, in Chromium driven by Playwright:

- the first load of ``/`` in a new browser context (cold cache): every response's
  transferred bytes (headers and encoded body, as the browser received them), how many
  were gzipped, and the time to a usable sign-in form;
- navigation to a usable dashboard with a warm cache: the document reloaded (its files
  revalidated, 304s) and the session resumed from the refresh cookie, until every
  watchlist row shows its price and sparkline and the socket is live; the same dashboard
  reached inside the app, from another page; and signing in from the sign-in form (after
  signing out) to the usable dashboard;
- a QuoteUpdated published to SNS, as market-data publishes it, until the page's row
  shows it (a MutationObserver in the page stamps the moment with the same clock).
"""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
from playwright.async_api import Browser, BrowserContext, Page, Response, ViewportSize
from playwright.async_api import TimeoutError as PlaywrightTimeout

from marketscope_events import CATALOG, SnsPublisher, TopicDirectory
from marketscope_events.catalog import QuoteUpdated
from marketscope_platform.aws import AwsClients, AwsSettings

PASSWORD = "bench web password 1"
VIEWPORT: ViewportSize = {"width": 1280, "height": 900}
# Replay stocks trading on every replayed day (FB begins in May 2012).
WATCHLIST = ["AAPL", "MSFT", "IBM", "GOOG"]
USABLE_SECONDS = 30.0
LOGIN = re.compile(r"/api/v1/auth/login$")
REFRESH = re.compile(r"/api/v1/auth/refresh$")
# Stamps, in the page, when each row shows a new tick (data-tick is the event id).
STAMP_TICKS = """
() => {
  window.__ticks = {};
  const body = document.getElementById('main');
  new MutationObserver((changes) => {
    const now = performance.timeOrigin + performance.now();
    for (const change of changes) {
      const id = change.target.dataset.tick;
      if (id && !(id in window.__ticks)) window.__ticks[id] = now;
    }
  }).observe(body, { attributes: true, attributeFilter: ['data-tick'], subtree: true });
}
"""
DASHBOARD_USABLE = f"""
() => {{
  const rows = document.querySelectorAll('table.watchlist tbody tr');
  if (rows.length !== {len(WATCHLIST)}) return false;
  const priced = [...rows].every((row) =>
    /\\d/.test(row.querySelector('td.price')?.textContent ?? '')
    && row.querySelector('.sparkline polyline'));
  return priced && document.querySelector('.live-state')?.dataset.state === 'live';
}}
"""


async def new_context(browser: Browser) -> BrowserContext:
    context = await browser.new_context(viewport=VIEWPORT, locale="en-US", timezone_id="UTC")
    context.set_default_timeout(USABLE_SECONDS * 1000)
    return context


async def first_load(browser: Browser, url: str) -> dict[str, Any]:
    context = await new_context(browser)
    page = await context.new_page()
    responses: list[Response] = []
    page.on("response", lambda response: responses.append(response))
    started = time.perf_counter()
    await page.goto(f"{url}/#/sign-in")
    await page.get_by_label("Email").wait_for()
    usable_ms = (time.perf_counter() - started) * 1000
    await page.wait_for_load_state("networkidle")
    files = []
    for response in responses:
        sizes = await response.request.sizes()
        headers = await response.all_headers()
        files.append(
            {
                "path": response.url.removeprefix(url),
                "status": response.status,
                "bytes": sizes["responseHeadersSize"] + sizes["responseBodySize"],
                "body_bytes": sizes["responseBodySize"],
                "gzip": headers.get("content-encoding") == "gzip",
            }
        )
    await context.close()
    return {
        "to_usable_sign_in_ms": round(usable_ms, 1),
        "responses": len(files),
        "transferred_bytes": sum(f["bytes"] for f in files),
        "body_bytes": sum(f["body_bytes"] for f in files),
        "gzipped_responses": sum(f["gzip"] for f in files),
        "files": sorted(files, key=lambda f: -f["bytes"]),
    }


async def account(url: str) -> str:
    """A user with a watchlist, made through the REST API."""
    email = f"bench-web-{uuid.uuid4().hex[:10]}@example.com"
    async with httpx.AsyncClient(base_url=url, timeout=30.0) as client:
        credentials = {"email": email, "password": PASSWORD}
        registered = await client.post("/api/v1/auth/register", json=credentials)
        registered.raise_for_status()
        login = await client.post("/api/v1/auth/login", json=credentials)
        login.raise_for_status()
        headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
        saved = await client.put("/api/v1/watchlist", json={"symbols": WATCHLIST}, headers=headers)
        saved.raise_for_status()
    return email


async def sign_in(page: Page, email: str) -> None:
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()


async def first_sign_in(page: Page, url: str, email: str) -> None:
    await page.goto(f"{url}/#/sign-in")
    await page.get_by_label("Email").wait_for()
    await sign_in(page, email)
    await until_usable(page)


async def reload_to_dashboard(page: Page) -> dict[str, float]:
    """The signed-in dashboard reloaded: the session resumes from the refresh cookie."""
    started = time.perf_counter()
    async with page.expect_response(REFRESH) as restored:
        await page.reload()
    if (await restored.value).status != 200:
        raise RuntimeError(f"the session did not resume: {await (await restored.value).text()}")
    resumed = time.perf_counter()
    await until_usable(page)
    done = time.perf_counter()
    return {
        "total": (done - started) * 1000,
        "to_session": (resumed - started) * 1000,
        "session_to_usable": (done - resumed) * 1000,
    }


async def sign_in_to_dashboard(page: Page, email: str) -> dict[str, float]:
    """Signed out (untimed), then from the sign-in form's submit to the usable dashboard."""
    await page.get_by_role("button", name="Sign out").click()
    await page.get_by_label("Email").wait_for()
    started = time.perf_counter()
    async with page.expect_response(LOGIN) as login:
        await sign_in(page, email)
    await login.value
    signed_in = time.perf_counter()
    await until_usable(page)
    done = time.perf_counter()
    return {
        "total": (done - started) * 1000,
        "sign_in": (signed_in - started) * 1000,
        "after_sign_in": (done - signed_in) * 1000,
    }


DASHBOARD_STATE = """
() => ({
  rows: [...document.querySelectorAll('table.watchlist tbody tr')].map((row) => ({
    text: row.textContent, sparkline: Boolean(row.querySelector('.sparkline polyline')),
  })),
  live: document.querySelector('.live-state')?.dataset.state ?? null,
  problems: [...document.querySelectorAll('.problem')].map((each) => each.textContent),
})
"""


async def until_usable(page: Page) -> None:
    try:
        await page.wait_for_function(DASHBOARD_USABLE, polling="raf")
    except PlaywrightTimeout as exc:
        shown = await page.evaluate(DASHBOARD_STATE)
        raise RuntimeError(f"the dashboard never became usable: {shown}") from exc


async def in_app_to_dashboard(page: Page) -> float:
    await page.evaluate("() => { location.hash = '/about'; }")
    await page.get_by_role("heading", level=1).filter(has_text="About").wait_for()
    started = time.perf_counter()
    await page.evaluate("() => { location.hash = '/'; }")
    await until_usable(page)
    return (time.perf_counter() - started) * 1000


def quote_event(symbol: str, price: Decimal, previous: Decimal) -> Any:
    change = price - previous
    return CATALOG.new_event(
        QuoteUpdated(
            symbol=symbol,
            price=price,
            previous_price=previous,
            change=change,
            change_percent=(change / previous * 100).quantize(Decimal("0.0001")),
            as_of=datetime.now(UTC),
            provider="replay",
        ),
        subject=f"Quote#{symbol}",
    )


async def quote_to_dom(
    page: Page, emulator: str, samples: int, pause_seconds: float
) -> list[float]:
    """ms from just before each publish to the row showing it, one quote at a time."""
    await page.evaluate(STAMP_TICKS)
    latencies: list[float] = []
    async with AwsClients(AwsSettings(endpoint_url=emulator, default_region="us-east-1")) as aws:
        topics = await TopicDirectory.from_sts(await aws.client("sts"), "us-east-1")
        publisher = SnsPublisher(await aws.client("sns"), topics)
        for i in range(samples):
            symbol = WATCHLIST[i % len(WATCHLIST)]
            price = Decimal("100.00") + Decimal(i) / 100
            event = quote_event(symbol, price, Decimal("100.00"))
            published_at = time.time() * 1000
            await publisher.publish(event)
            shown = await page.wait_for_function(
                f"() => window.__ticks[{event.id!r}]", polling="raf"
            )
            latencies.append(float(await shown.json_value()) - published_at)
            await asyncio.sleep(pause_seconds)
    return latencies
