"""Accounts and tokens on the emulator's table: register, login, expiry, refresh rotation,
reuse detection, logout and roles (throttling: test_throttle.py; emails: test_emails.py)."""

from __future__ import annotations

import time
import uuid

import pytest

from marketscope_gateway.auth.signing_key import SigningKey
from marketscope_gateway.auth.tokens import TokenCodec

from .conftest import PASSWORD, SIGNING_KEY, MakeGateway

pytestmark = pytest.mark.integration


async def test_register_login_and_me(make_gateway: MakeGateway) -> None:
    async with make_gateway() as gw:
        email, user_id = await gw.register()
        response = await gw.login(email.upper())  # emails are case-insensitive
        assert response.status_code == 200
        tokens = response.json()
        assert tokens["token_type"] == "Bearer"
        assert tokens["expires_in"] == 15 * 60
        assert tokens["user"]["roles"] == ["user"]
        me = await gw.client.get(
            "/api/v1/me", headers={"Authorization": f"Bearer {tokens['access_token']}"}
        )
        assert me.status_code == 200
        assert me.json()["user_id"] == user_id
        assert me.json()["email"] == email


async def test_duplicate_email_and_bad_input_are_problems(make_gateway: MakeGateway) -> None:
    async with make_gateway() as gw:
        email, _ = await gw.register()
        again = await gw.client.post(
            "/api/v1/auth/register", json={"email": email, "password": PASSWORD}
        )
        assert again.status_code == 409
        assert again.headers["content-type"] == "application/problem+json"
        weak = await gw.client.post(
            "/api/v1/auth/register", json={"email": "a@example.com", "password": "short"}
        )
        assert weak.status_code == 422  # InvalidRequest: 422 in every service
        not_email = await gw.client.post(
            "/api/v1/auth/register", json={"email": "nobody", "password": PASSWORD}
        )
        assert not_email.status_code == 422


async def test_wrong_password_and_unknown_account_answer_alike(make_gateway: MakeGateway) -> None:
    async with make_gateway() as gw:
        email, _ = await gw.register()
        wrong = await gw.login(email, "not the password at all")
        unknown = await gw.login(f"ghost-{uuid.uuid4().hex}@example.com")
        assert wrong.status_code == unknown.status_code == 401
        assert wrong.json()["detail"] == unknown.json()["detail"]
        assert "password" not in wrong.text.lower().replace("email or password", "")


async def test_expired_and_forged_access_tokens_are_refused(make_gateway: MakeGateway) -> None:
    async with make_gateway() as gw:
        _, user_id = await gw.register()
        sixteen_minutes_ago = time.time() - 16 * 60
        old = TokenCodec(
            SigningKey(SIGNING_KEY),
            access_ttl_seconds=15 * 60,
            refresh_ttl_seconds=3600,
            clock=lambda: sixteen_minutes_ago,
        ).issue_access(user_id, "x@example.com", frozenset({"user"}))
        expired = await gw.client.get(
            "/api/v1/me", headers={"Authorization": f"Bearer {old.token}"}
        )
        assert expired.status_code == 401
        assert "expired" in expired.json()["detail"]
        forged = TokenCodec(
            SigningKey("another-key-" + "y" * 32), access_ttl_seconds=900, refresh_ttl_seconds=60
        ).issue_access(user_id, "x@example.com", frozenset({"user", "admin"}))
        refused = await gw.client.get(
            "/api/v1/me", headers={"Authorization": f"Bearer {forged.token}"}
        )
        assert refused.status_code == 401
        missing = await gw.client.get("/api/v1/me")
        assert missing.status_code == 401
        assert missing.headers["content-type"] == "application/problem+json"


async def test_refresh_rotates_and_a_reused_token_revokes_the_family(
    make_gateway: MakeGateway,
) -> None:
    async with make_gateway() as gw:
        _, _, first = await gw.user()
        refresh = "/api/v1/auth/refresh"
        second = await gw.client.post(refresh, json={"refresh_token": first["refresh_token"]})
        assert second.status_code == 200
        second_tokens = second.json()
        assert second_tokens["refresh_token"] != first["refresh_token"]
        third = await gw.client.post(
            refresh, json={"refresh_token": second_tokens["refresh_token"]}
        )
        assert third.status_code == 200
        # The first token again: someone holds a copy. The whole family goes.
        reused = await gw.client.post(refresh, json={"refresh_token": first["refresh_token"]})
        assert reused.status_code == 401
        assert reused.json()["type"].endswith("refresh-token-reused")
        latest = await gw.client.post(
            refresh, json={"refresh_token": third.json()["refresh_token"]}
        )
        assert latest.status_code == 401
        # An access token cannot stand in for a refresh token.
        swapped = await gw.client.post(refresh, json={"refresh_token": first["access_token"]})
        assert swapped.status_code == 401


async def test_logout_revokes_the_session_only(make_gateway: MakeGateway) -> None:
    async with make_gateway() as gw:
        email, _, session_a = await gw.user()
        session_b = (await gw.login(email)).json()
        out = await gw.client.post(
            "/api/v1/auth/logout", json={"refresh_token": session_a["refresh_token"]}
        )
        assert out.status_code == 204
        ended = await gw.client.post(
            "/api/v1/auth/refresh", json={"refresh_token": session_a["refresh_token"]}
        )
        assert ended.status_code == 401
        other = await gw.client.post(
            "/api/v1/auth/refresh", json={"refresh_token": session_b["refresh_token"]}
        )
        assert other.status_code == 200


async def test_admin_is_granted_never_self_registered(make_gateway: MakeGateway) -> None:
    admin_email = f"admin-{uuid.uuid4().hex[:10]}@example.com"
    async with make_gateway(admin_emails=[admin_email]) as gw:
        await gw.register(admin_email)
        admin_tokens = (await gw.login(admin_email)).json()
        assert admin_tokens["user"]["roles"] == ["admin", "user"]
        admin_auth = {"Authorization": f"Bearer {admin_tokens['access_token']}"}
        _, user_id = await gw.register()
        email_b, auth_b, tokens_b = await gw.user()
        me_b = (await gw.client.get("/api/v1/me", headers=auth_b)).json()

        # A user cannot grant, not even to themselves.
        denied = await gw.client.put(
            f"/api/v1/admin/users/{me_b['user_id']}/roles/admin", headers=auth_b
        )
        assert denied.status_code == 403
        granted = await gw.client.put(
            f"/api/v1/admin/users/{me_b['user_id']}/roles/admin", headers=admin_auth
        )
        assert granted.status_code == 200, granted.text
        assert granted.json()["roles"] == ["admin", "user"]
        # The role shows in the next token.
        renewed = await gw.client.post(
            "/api/v1/auth/refresh", json={"refresh_token": tokens_b["refresh_token"]}
        )
        assert renewed.json()["user"]["roles"] == ["admin", "user"]
        revoked = await gw.client.delete(
            f"/api/v1/admin/users/{me_b['user_id']}/roles/admin", headers=admin_auth
        )
        assert revoked.json()["roles"] == ["user"]
        missing = await gw.client.put(
            f"/api/v1/admin/users/{uuid.uuid4().hex}/roles/admin", headers=admin_auth
        )
        assert missing.status_code == 404
        assert user_id != me_b["user_id"]
        assert email_b != admin_email
