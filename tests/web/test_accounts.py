"""Sign up, sign out (the session is revoked at the gateway), and sign in, with a wrong
password's problem shown as its title; a reload resumes the session from the HttpOnly
refresh cookie, and after signing out finds none. A first visit does not ask the gateway
for a session (no refused refresh in the console); a stale flag costs one refused refresh
and is then forgotten."""

from __future__ import annotations

import re

from playwright.async_api import Cookie, Page, expect

from ..stack import PASSWORD, Stack, in_stack_loop
from .browser import WebApp

COOKIE = "marketscope_refresh"
REFRESH = re.compile(r"/api/v1/auth/refresh$")


@in_stack_loop
async def test_sign_up_sign_out_and_sign_in(web: WebApp, stack: Stack) -> None:
    await web.open("/sign-up")
    await web.page.get_by_role("heading", name="Create an account").wait_for()
    await web.check_and_capture("sign-up")
    email = await web.sign_up("web-account")
    await expect(web.page.locator("#account .user")).to_have_text(email)
    await expect(web.page.locator(".live-state")).to_have_text("Live")

    async with web.page.expect_response(re.compile(r"/api/v1/auth/logout$")) as logout:
        await web.page.get_by_role("button", name="Sign out").click()
    assert (await logout.value).status == 204
    await web.page.get_by_role("heading", name="Sign in").wait_for()
    await expect(web.page.locator("#notice")).to_have_text("You are signed out.")
    await web.check_and_capture("sign-in")

    page = web.page
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Password").fill("not the password at all")
    async with page.expect_response(re.compile(r"/api/v1/auth/login$")) as refused:
        await page.get_by_role("button", name="Sign in").click()
    problem = await (await refused.value).json()
    assert (await refused.value).status == 401
    await expect(page.locator(".problem-title")).to_have_text(problem["title"])
    await expect(page.locator(".problem-detail")).to_have_text(problem["detail"])

    async with page.expect_response(re.compile(r"/api/v1/auth/login$")) as login:
        await page.get_by_label("Password").fill(PASSWORD)
        await page.get_by_role("button", name="Sign in").click()
    await page.get_by_role("heading", name="Dashboard", level=1).wait_for()
    assert (await (await login.value).json())["refresh_token"] is None

    # The refresh token is a cookie the page's scripts cannot read; a reload resumes the
    # session with it (and rotates it).
    issued = await refresh_cookie(page)
    assert (issued.get("httpOnly"), issued.get("sameSite")) == (True, "Strict"), issued
    assert COOKIE not in await page.evaluate("() => document.cookie")
    async with page.expect_response(REFRESH) as restored:
        await page.reload()
    assert (await restored.value).status == 200
    await page.get_by_role("heading", name="Dashboard", level=1).wait_for()
    await expect(page.locator("#account .user")).to_have_text(email)
    rotated = await refresh_cookie(page)
    assert rotated.get("value") != issued.get("value")

    # Signing out revoked the session at the gateway: its refresh token is spent, and a
    # reload finds no session to resume.
    await page.get_by_role("button", name="Sign out").click()
    await page.get_by_role("heading", name="Sign in").wait_for()
    assert COOKIE not in {c["name"] for c in await page.context.cookies()}
    spent = await stack.client.post(
        "/api/v1/auth/refresh", json={"refresh_token": rotated.get("value")}
    )
    assert spent.status_code == 401, spent.text
    asked = refresh_requests(page)
    await page.reload()
    await page.get_by_role("heading", name="Sign in").wait_for()
    assert asked == [], "a signed-out reload asked for a session"
    assert web.errors == []


@in_stack_loop
async def test_a_first_visit_asks_for_no_session(web: WebApp) -> None:
    page = web.page
    asked = refresh_requests(page)
    await web.open("/")
    await page.get_by_role("heading", name="Sign in").wait_for()
    assert asked == [], "a first visit asked the gateway for a session it cannot have"

    # A flag left behind without its cookie (the cookie expired): one refused refresh,
    # after which the flag is gone and the next reload asks nothing.
    await page.evaluate("() => localStorage.setItem('marketscope.session', '1')")
    async with page.expect_response(REFRESH) as refused:
        await page.reload()
    assert (await refused.value).status == 401
    await page.get_by_role("heading", name="Sign in").wait_for()
    assert await page.evaluate("() => localStorage.getItem('marketscope.session')") is None
    asked.clear()
    await page.reload()
    await page.get_by_role("heading", name="Sign in").wait_for()
    assert asked == []
    assert web.errors == []


def refresh_requests(page: Page) -> list[str]:
    """The refresh requests the page sends from now on (a list that fills as they go)."""
    sent: list[str] = []
    page.on(
        "request", lambda request: sent.append(request.url) if REFRESH.search(request.url) else None
    )
    return sent


async def refresh_cookie(page: Page) -> Cookie:
    [cookie] = [c for c in await page.context.cookies() if c.get("name") == COOKIE]
    return cookie
