"""Emails as account names: one canonical form (NFKC, case-folded), refused characters
answered 422 problem+json, and accounts stored under the old lower-cased form still work."""

from __future__ import annotations

import time
import uuid

import pytest

from marketscope_gateway.auth.emails import canonical_email
from marketscope_gateway.auth.passwords import Passwords
from marketscope_gateway.errors import InvalidRequest
from marketscope_gateway.store import UserRecord

from .conftest import PASSWORD, MakeGateway

REFUSED = {
    "NUL": "ada\x00@example.com",
    "control character": "ada\x07@example.com",
    "trailing unit separator": "ada@example.com\x1f",
    "escape": "\x1b[31mada@example.com",
    "right-to-left override": "ada\u202e@example.com",
    "left-to-right embedding": "\u202aada@example.com",
    "pop directional formatting": "ada@exa\u202cmple.com",
    "left-to-right isolate": "ada@\u2066example.com",
    "pop directional isolate": "ada@example\u2069.com",
    "left-to-right mark": "ada\u200e@example.com",
    "right-to-left mark": "ada@example.com\u200f",
    "arabic letter mark": "ada\u061c@example.com",
    "zero-width space": "ad\u200ba@example.com",
    "zero-width joiner": "ad\u200da@example.com",
    "byte order mark": "\ufeffada@example.com",
    "line separator": "ada\u2028@example.com",
    "private use": "ada\ue000@example.com",
    "unassigned": "ada\u0378@example.com",
}


def unique(local: str = "ada") -> str:
    return f"{local}-{uuid.uuid4().hex[:10]}@example.com"


def fullwidth(text: str) -> str:
    """``text`` with its ASCII letters, digits, '-', '@' and '.' in fullwidth forms."""
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


@pytest.mark.parametrize("email", REFUSED.values(), ids=REFUSED.keys())
def test_refused_characters(email: str) -> None:
    with pytest.raises(InvalidRequest) as raised:
        canonical_email(email)
    assert raised.value.status == 422
    assert "U+" in str(raised.value)


@pytest.mark.parametrize(
    ("typed", "canonical"),
    [
        (fullwidth("Ada@Example.com"), "ada@example.com"),
        ("ADA@EXAMPLE.COM", "ada@example.com"),
        ("  ada@example.com\n", "ada@example.com"),
        ("\ufb01sher@example.com", "fisher@example.com"),  # the "fi" ligature
        ("Stra\u00dfe@example.com", "strasse@example.com"),  # case folding, not lower()
        ("\u212bngstr\u00f6m@example.com", "\u00e5ngstr\u00f6m@example.com"),  # the Angstrom sign
        ("ada@example.com", "ada@example.com"),
    ],
)
def test_the_canonical_form(typed: str, canonical: str) -> None:
    assert canonical_email(typed) == canonical
    assert canonical_email(canonical) == canonical  # stable


@pytest.mark.integration
async def test_fullwidth_and_case_variants_are_one_account(make_gateway: MakeGateway) -> None:
    async with make_gateway() as gw:
        plain = unique()
        registered = await gw.client.post(
            "/api/v1/auth/register",
            json={"email": fullwidth(plain.upper()), "password": PASSWORD},
        )
        assert registered.status_code == 201, registered.text
        assert registered.json()["email"] == plain
        login = await gw.login(plain)
        assert login.status_code == 200
        assert login.json()["user"]["user_id"] == registered.json()["user_id"]
        again = await gw.client.post(
            "/api/v1/auth/register", json={"email": plain, "password": PASSWORD}
        )
        assert again.status_code == 409


@pytest.mark.integration
async def test_refused_characters_are_422_problems(make_gateway: MakeGateway) -> None:
    async with make_gateway() as gw:
        for name, email in REFUSED.items():
            for route in ("/api/v1/auth/register", "/api/v1/auth/login"):
                response = await gw.client.post(route, json={"email": email, "password": PASSWORD})
                assert response.status_code == 422, (name, route, response.text)
                assert response.headers["content-type"] == "application/problem+json"


@pytest.mark.integration
async def test_an_account_stored_under_the_old_form_still_logs_in(
    make_gateway: MakeGateway,
) -> None:
    async with make_gateway() as gw:
        store = gw.app.state.components.store
        typed = fullwidth("U") + f"ser-{uuid.uuid4().hex[:10]}@example.com"
        old_key = typed.strip().lower()  # how accounts were stored before
        user_id = uuid.uuid4().hex
        await store.create_user(
            UserRecord(
                user_id=user_id,
                email=old_key,
                password_hash=await Passwords().hash(PASSWORD),
                roles=frozenset({"user"}),
                created_at=int(time.time()),
            )
        )
        login = await gw.login(typed)
        assert login.status_code == 200, login.text
        assert login.json()["user"]["user_id"] == user_id
        taken = await gw.client.post(
            "/api/v1/auth/register", json={"email": typed, "password": PASSWORD}
        )
        assert taken.status_code == 409
