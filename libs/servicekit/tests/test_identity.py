from __future__ import annotations

import pytest

from marketscope_servicekit.identity import Identity, IdentityError, sign_identity, verify_identity

KEY = "test-key"


def test_signed_identity_verifies() -> None:
    headers = sign_identity(KEY, Identity("u1", frozenset({"user", "admin"})), clock=lambda: 1000)
    identity = verify_identity(KEY, headers, clock=lambda: 1010)
    assert identity == Identity("u1", frozenset({"admin", "user"}))
    assert identity.is_admin


@pytest.mark.parametrize(
    ("tamper", "message"),
    [
        (lambda h: h.update({"X-MarketScope-User": "u2"}), "does not verify"),
        (lambda h: h.update({"X-MarketScope-Roles": "admin,user"}), "does not verify"),
        (lambda h: h.pop("X-MarketScope-Signature"), "missing"),
    ],
)
def test_forged_or_incomplete_headers_are_refused(tamper, message) -> None:
    headers = sign_identity(KEY, Identity("u1"), clock=lambda: 1000)
    tamper(headers)
    with pytest.raises(IdentityError, match=message):
        verify_identity(KEY, headers, clock=lambda: 1000)


def test_other_key_and_stale_headers_are_refused() -> None:
    headers = sign_identity(KEY, Identity("u1"), clock=lambda: 1000)
    with pytest.raises(IdentityError, match="does not verify"):
        verify_identity("other", headers, clock=lambda: 1000)
    with pytest.raises(IdentityError, match="stale"):
        verify_identity(KEY, headers, clock=lambda: 1000 + 301)
