"""The refresh token as an HttpOnly cookie (`X-Refresh-Cookie: 1`, what the web app sends):
set by login, presented and replaced by refresh, cleared by logout and by a refusal, and
never usable without the header."""

from __future__ import annotations

from http.cookies import SimpleCookie

import httpx
import pytest

from marketscope_gateway.auth.cookie import COOKIE_NAME

from .conftest import PASSWORD, MakeGateway, RunningGateway

pytestmark = pytest.mark.integration
COOKIE = {"X-Refresh-Cookie": "1"}
REFRESH = "/api/v1/auth/refresh"


def set_cookie(response: httpx.Response) -> SimpleCookie:
    [header] = response.headers.get_list("set-cookie")
    parsed = SimpleCookie()
    parsed.load(header)
    return parsed


async def cookie_login(gw: RunningGateway) -> tuple[str, httpx.Response]:
    """A new account logged in as the web app does; its email and the login's answer."""
    email, _ = await gw.register()
    login = await gw.client.post(
        "/api/v1/auth/login", json={"email": email, "password": PASSWORD}, headers=COOKIE
    )
    assert login.status_code == 200, login.text
    return email, login


async def test_login_sets_the_cookie_and_refresh_rotates_it(make_gateway: MakeGateway) -> None:
    async with make_gateway() as gw:
        email, login = await cookie_login(gw)
        assert login.json()["refresh_token"] is None  # not in the page's reach
        cookie = set_cookie(login)[COOKIE_NAME]
        assert cookie["httponly"] is True
        assert cookie["samesite"] == "strict"
        assert cookie["path"] == "/api/v1/auth"
        assert int(cookie["max-age"]) == login.json()["refresh_expires_in"]
        first = cookie.value

        rotated = await gw.client.post(REFRESH, headers=COOKIE)  # the client sends the cookie
        assert rotated.status_code == 200, rotated.text
        assert rotated.json()["refresh_token"] is None
        second = set_cookie(rotated)[COOKIE_NAME].value
        assert second != first
        me = await gw.client.get(
            "/api/v1/me", headers={"Authorization": f"Bearer {rotated.json()['access_token']}"}
        )
        assert me.json()["email"] == email

        # The spent token again (a stolen copy): refused, the session ends, the cookie goes.
        gw.client.cookies.set(COOKIE_NAME, first, path="/api/v1/auth")
        reused = await gw.client.post(REFRESH, headers=COOKIE)
        assert reused.status_code == 401
        assert reused.headers["content-type"] == "application/problem+json"
        assert reused.json()["type"].endswith("refresh-token-reused")
        expired = set_cookie(reused)[COOKIE_NAME]
        assert (expired.value, int(expired["max-age"])) == ("", 0)
        gw.client.cookies.set(COOKIE_NAME, second, path="/api/v1/auth")
        ended = await gw.client.post(REFRESH, headers=COOKIE)
        assert ended.status_code == 401


async def test_the_cookie_needs_the_header(make_gateway: MakeGateway) -> None:
    async with make_gateway() as gw:
        await cookie_login(gw)
        assert gw.client.cookies.get(COOKIE_NAME)
        # What a cross-site form post could send: the cookie without the header.
        forged = await gw.client.post(REFRESH)
        assert forged.status_code == 401
        assert "X-Refresh-Cookie" in forged.json()["detail"]
        assert "set-cookie" not in forged.headers
        still = await gw.client.post(REFRESH, headers=COOKIE)
        assert still.status_code == 200


async def test_logout_ends_the_cookies_session_and_clears_it(make_gateway: MakeGateway) -> None:
    async with make_gateway() as gw:
        await cookie_login(gw)
        token = gw.client.cookies.get(COOKIE_NAME)
        out = await gw.client.post("/api/v1/auth/logout", headers=COOKIE)
        assert out.status_code == 204
        assert set_cookie(out)[COOKIE_NAME]["max-age"] == "0"
        assert gw.client.cookies.get(COOKIE_NAME) is None
        ended = await gw.client.post(REFRESH, json={"refresh_token": token})
        assert ended.status_code == 401
        nothing = await gw.client.post("/api/v1/auth/logout", headers=COOKIE)
        assert nothing.status_code == 401


async def test_a_body_token_still_wins_and_no_cookie_is_set(make_gateway: MakeGateway) -> None:
    async with make_gateway() as gw:
        _, _, tokens = await gw.user()
        rotated = await gw.client.post(REFRESH, json={"refresh_token": tokens["refresh_token"]})
        assert rotated.status_code == 200
        assert rotated.json()["refresh_token"]
        assert "set-cookie" not in rotated.headers
