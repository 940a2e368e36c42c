"""A WebSocket lives no longer than its token and its session: it closes with 4401 at
the access token's expiry unless the client sent a fresh token, at once when its session
is logged out or revoked for refresh-token reuse on this instance, at the next session
check when that happens on another; and one user holds only so many sockets."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import datetime
from typing import Any

import pytest
from websockets.asyncio.client import connect

from marketscope_gateway.auth.signing_key import SigningKey
from marketscope_gateway.auth.tokens import TokenCodec

from .conftest import SIGNING_KEY, MakeGateway, RunningGateway
from .wsclient import closed_by_server, next_message, socket, still_open, subscribe, ws_url

pytestmark = pytest.mark.integration


def session_of(gw: RunningGateway, tokens: dict[str, Any]) -> str:
    codec: TokenCodec = gw.app.state.components.tokens
    return codec.read_refresh(tokens["refresh_token"]).family_id


def access_token(tokens: dict[str, Any], session_id: str | None, *, seconds: int) -> str:
    """An access token for the logged-in user of ``tokens``, signed with the gateway's
    key as the gateway signs them, expiring in ``seconds`` (up to 1 s sooner: expiry
    times are whole seconds)."""
    user = tokens["user"]
    codec = TokenCodec(SigningKey(SIGNING_KEY), access_ttl_seconds=seconds, refresh_ttl_seconds=60)
    issued = codec.issue_access(
        user["user_id"], user["email"], frozenset(user["roles"]), session_id=session_id
    )
    return issued.token


async def reauth(ws: Any, token: str, request_id: str) -> Any:
    await ws.send(json.dumps({"type": "auth", "token": token, "id": request_id}))
    return await next_message(ws)


async def test_a_socket_closes_4401_when_its_access_token_expires(
    make_served_gateway: MakeGateway,
) -> None:
    async with make_served_gateway(ws_heartbeat_seconds=0.5) as gw:
        _, _, tokens = await gw.user()
        short = access_token(tokens, session_of(gw, tokens), seconds=2)
        headers = {"Authorization": f"Bearer {short}"}
        async with connect(ws_url(gw), additional_headers=headers) as ws:
            welcome = await next_message(ws)
            expires_at = datetime.fromisoformat(welcome["expires_at"]).timestamp()
            assert 0 < expires_at - time.time() <= 2
            await subscribe(ws, "documents")
            close = await closed_by_server(ws, within=4)
            assert (close.code, close.reason) == (4401, "the access token expired")
            assert abs(time.time() - expires_at) < 1


async def test_a_fresh_token_moves_the_expiry_and_the_socket_still_ends_with_it(
    make_served_gateway: MakeGateway,
) -> None:
    async with make_served_gateway() as gw:
        _, _, tokens = await gw.user()
        session = session_of(gw, tokens)
        async with socket(gw, access_token(tokens, session, seconds=2)) as ws:
            renewed = await reauth(ws, access_token(tokens, session, seconds=5), "r1")
            assert renewed["type"] == "authenticated"
            assert renewed["id"] == "r1"
            assert renewed["user_id"] == tokens["user"]["user_id"]
            new_expiry = datetime.fromisoformat(renewed["expires_at"]).timestamp()
            assert 3 < new_expiry - time.time() <= 5
            await asyncio.sleep(2.5)  # past the first token's expiry
            assert await still_open(ws)
            close = await closed_by_server(ws, within=5)
            assert (close.code, close.reason) == (4401, "the access token expired")
            assert abs(time.time() - new_expiry) < 1


async def test_a_fresh_token_that_is_not_good_is_refused_and_the_socket_stays_as_it_was(
    make_served_gateway: MakeGateway,
) -> None:
    async with make_served_gateway() as gw:
        _, _, tokens = await gw.user()
        _, _, others = await gw.user()
        session = session_of(gw, tokens)
        async with socket(gw, access_token(tokens, session, seconds=3)) as ws:
            refused = [
                await reauth(ws, others["access_token"], "another user"),
                await reauth(ws, access_token(tokens, None, seconds=60), "no session"),
                await reauth(ws, "not-a-token", "garbage"),
            ]
            assert [(r["type"], r["code"], r["id"]) for r in refused] == [
                ("error", "unauthenticated", "another user"),
                ("error", "unauthenticated", "no session"),
                ("error", "unauthenticated", "garbage"),
            ]
            assert "another user" in refused[0]["message"]
            assert await still_open(ws)
            close = await closed_by_server(ws, within=5)  # at the first token's expiry
            assert close.code == 4401


async def test_logout_closes_that_sessions_sockets_at_once_and_no_other(
    make_served_gateway: MakeGateway,
) -> None:
    async with make_served_gateway() as gw:  # session checks every 20 s: not those
        email, _, laptop = await gw.user()
        phone = (await gw.login(email)).json()
        async with (
            socket(gw, laptop["access_token"]) as on_laptop,
            socket(gw, phone["access_token"]) as on_phone,
        ):
            await subscribe(on_laptop, "notifications")
            started = time.monotonic()
            logout = await gw.client.post(
                "/api/v1/auth/logout", json={"refresh_token": laptop["refresh_token"]}
            )
            assert logout.status_code == 204
            close = await closed_by_server(on_laptop, within=2)
            assert (close.code, close.reason) == (4401, "the session has ended")
            assert time.monotonic() - started < 1
            assert await still_open(on_phone)
        # The access token is still unexpired, but its session is over.
        async with connect(
            ws_url(gw), additional_headers={"Authorization": f"Bearer {laptop['access_token']}"}
        ) as again:
            assert (await next_message(again))["code"] == "unauthenticated"
            assert (await closed_by_server(again, within=2)).code == 4401


async def test_logout_on_another_instance_closes_the_socket_at_its_next_session_check(
    make_served_gateway: MakeGateway,
) -> None:
    async with (
        make_served_gateway() as gw1,
        make_served_gateway(ws_session_check_seconds=0.5) as gw2,
    ):
        _, _, tokens = await gw1.user()
        async with socket(gw2, tokens["access_token"]) as ws:
            logout = await gw1.client.post(
                "/api/v1/auth/logout", json={"refresh_token": tokens["refresh_token"]}
            )
            assert logout.status_code == 204
            started = time.monotonic()
            close = await closed_by_server(ws, within=3)
            assert (close.code, close.reason) == (4401, "the session has ended")
            assert time.monotonic() - started < 1.5


async def test_refresh_token_reuse_closes_the_sessions_sockets(
    make_served_gateway: MakeGateway,
) -> None:
    async with make_served_gateway() as gw:
        _, _, tokens = await gw.user()
        async with socket(gw, tokens["access_token"]) as ws:
            rotated = await gw.client.post(
                "/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
            )
            assert rotated.status_code == 200
            assert await still_open(ws)  # a rotation is the same session
            renewed = await reauth(ws, rotated.json()["access_token"], "rotated")
            assert renewed["type"] == "authenticated"
            reused = await gw.client.post(
                "/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
            )
            assert reused.status_code == 401
            close = await closed_by_server(ws, within=2)
            assert (close.code, close.reason) == (4401, "the session has ended")


async def test_one_user_holds_at_most_the_configured_number_of_sockets(
    make_served_gateway: MakeGateway,
) -> None:
    async with make_served_gateway(ws_max_connections_per_user=2) as gw:
        _, _, tokens = await gw.user()
        _, _, other = await gw.user()
        token = tokens["access_token"]
        async with socket(gw, token) as first, socket(gw, token):
            headers = {"Authorization": f"Bearer {token}"}
            async with connect(ws_url(gw), additional_headers=headers) as third:
                error = await next_message(third)
                assert error == {
                    "type": "error",
                    "code": "too_many_connections",
                    "message": "at most 2 open sockets per user",
                }
                close = await closed_by_server(third, within=2)
                assert (close.code, close.reason) == (4429, "at most 2 open sockets per user")
            async with socket(gw, other["access_token"]) as others:
                assert await still_open(others)
            assert await still_open(first)
        hub = gw.app.state.components.hub
        for _ in range(100):  # the server sees the closes a moment after the client
            if not hub.connections_of(tokens["user"]["user_id"]):
                break
            await asyncio.sleep(0.02)
        async with socket(gw, token) as after_closing, socket(gw, token):
            assert await still_open(after_closing)
