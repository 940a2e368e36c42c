"""Sign up, sign out (the session is revoked at the gateway), and sign in, with a wrong
password's problem shown as its title."""

from __future__ import annotations

import re

from playwright.async_api import expect

from ..stack import PASSWORD, Stack, in_stack_loop
from .browser import WebApp


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
    tokens = await (await login.value).json()
    # Signing out revoked the session at the gateway: its refresh token is spent.
    await page.get_by_role("button", name="Sign out").click()
    await page.get_by_role("heading", name="Sign in").wait_for()
    spent = await stack.client.post(
        "/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
    )
    assert spent.status_code == 401, spent.text
