"""A service client keeps no cookie: one client carries every user's calls, so what one
answer set must never go out with anyone's next request."""

from __future__ import annotations

import httpx
import pytest

from marketscope_gateway.downstream.http_client import ServiceHttpClient


async def test_a_cookie_a_service_sets_is_never_sent_back() -> None:
    sent: list[str | None] = []

    def service(request: httpx.Request) -> httpx.Response:
        sent.append(request.headers.get("cookie"))
        return httpx.Response(200, headers={"Set-Cookie": "session=alice; Path=/"}, json={})

    async with ServiceHttpClient(
        base_url="http://service", transport=httpx.MockTransport(service)
    ) as client:
        first = await client.get("/watchlists/alice")
        await client.get("/watchlists/bob")
    assert first.headers["set-cookie"] == "session=alice; Path=/"  # still readable
    assert sent == [None, None]
    assert not client.cookies


def test_cookies_cannot_be_given_to_a_service_client() -> None:
    client = ServiceHttpClient(base_url="http://service")
    with pytest.raises(TypeError):
        client.cookies = {"session": "alice"}
    with pytest.raises(TypeError):
        client.cookies.set("session", "alice")
