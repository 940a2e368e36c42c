from __future__ import annotations

import hashlib
from typing import Any

import pytest

from marketscope_servicekit.identity import (
    MAX_AGE_SECONDS,
    ROLES_HEADER,
    SIGNATURE_HEADER,
    USER_HEADER,
    Identity,
    IdentityError,
    sign_identity,
    verify_identity,
)

KEY = "k" * 48
BODY = b'{"symbols": ["AAPL"]}'
REQUEST: dict[str, Any] = {"method": "PUT", "path_with_query": "/watchlists/u1?x=1"}


ALICE = Identity("u1")


def signed(identity: Identity = ALICE, *, at: float = 1000, **request: Any) -> dict[str, str]:
    return sign_identity(KEY, identity, body=BODY, clock=lambda: at, **{**REQUEST, **request})


def verify(
    headers: dict[str, str], *, at: float = 1000, key: str = KEY, **request: Any
) -> Identity:
    values = {**REQUEST, "body_digest": hashlib.sha256(BODY).hexdigest(), **request}
    return verify_identity(key, headers, clock=lambda: at, **values)


def test_signed_identity_verifies_for_the_request_it_was_signed_for() -> None:
    identity = verify(signed(Identity("u1", frozenset({"user", "admin"}))), at=1010)
    assert identity == Identity("u1", frozenset({"admin", "user"}))
    assert identity.is_admin


@pytest.mark.parametrize(
    "other",
    [
        {"method": "DELETE"},
        {"path_with_query": "/watchlists/u2?x=1"},
        {"path_with_query": "/watchlists/u1?x=2"},
        {"path_with_query": "/watchlists/u1"},
        {"body_digest": hashlib.sha256(b'{"symbols": []}').hexdigest()},
    ],
    ids=["method", "path", "query", "no-query", "body"],
)
def test_headers_replayed_on_another_request_do_not_verify(other: dict[str, str]) -> None:
    with pytest.raises(IdentityError, match="does not verify"):
        verify(signed(), **other)


@pytest.mark.parametrize(
    ("tamper", "message"),
    [
        (lambda h: h.update({USER_HEADER: "u2"}), "does not verify"),
        (lambda h: h.update({ROLES_HEADER: "admin,user"}), "does not verify"),
        (lambda h: h.pop(SIGNATURE_HEADER), "missing"),
    ],
)
def test_forged_or_incomplete_headers_are_refused(tamper: Any, message: str) -> None:
    headers = signed()
    tamper(headers)
    with pytest.raises(IdentityError, match=message):
        verify(headers)


def test_other_key_is_refused() -> None:
    with pytest.raises(IdentityError, match="does not verify"):
        verify(signed(), key="o" * 48)


def test_headers_are_fresh_for_thirty_seconds_only() -> None:
    assert MAX_AGE_SECONDS == 30
    assert verify(signed(), at=1000 + 30) == Identity("u1")
    with pytest.raises(IdentityError, match="stale"):
        verify(signed(), at=1000 + 31)
    with pytest.raises(IdentityError, match="stale"):
        verify(signed(at=1000 + 31), at=1000)  # from the future, as far


@pytest.mark.parametrize(
    "user_id", ["a\r\nX-MarketScope-Roles: admin", "zoë", "../quotes/AAPL", "a,b%2C"]
)
def test_any_user_id_travels_as_one_ascii_header_value(user_id: str) -> None:
    headers = signed(Identity(user_id, frozenset({"user", "r\n,x"})))
    for value in headers.values():
        assert value.isascii()
        assert value.isprintable()
    assert verify(headers) == Identity(user_id, frozenset({"user", "r\n,x"}))


def test_a_streamed_body_signs_with_its_digest() -> None:
    digest = hashlib.sha256(BODY).hexdigest()
    headers = sign_identity(KEY, Identity("u1"), body_digest=digest, clock=lambda: 1000, **REQUEST)
    assert verify(headers) == Identity("u1")
