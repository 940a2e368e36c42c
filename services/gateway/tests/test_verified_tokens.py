"""Access tokens kept once verified: the same answers as verifying every time (expiry on
the codec's clock, forged tokens refused, another key verifies again), the JWT decoded
once per token, and no token kept in the clear."""

from __future__ import annotations

import pytest

from marketscope_gateway.auth import tokens as tokens_module
from marketscope_gateway.auth.signing_key import SigningKey
from marketscope_gateway.auth.tokens import TokenCodec
from marketscope_gateway.auth.verified import VerifiedTokens
from marketscope_gateway.errors import InvalidToken

KEY = "verified-tokens-test-key-" + "k" * 32


class Clock:
    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def codec(
    clock: Clock, key: SigningKey | None = None, verified: VerifiedTokens | None = None
) -> TokenCodec:
    return TokenCodec(
        key or SigningKey(KEY),
        access_ttl_seconds=900,
        refresh_ttl_seconds=3600,
        clock=clock,
        verified=verified,
    )


@pytest.fixture
def decodes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every JWT the codecs decode."""
    seen: list[str] = []
    original = tokens_module.jwt.decode

    def counting(token: str, *args: object, **kwargs: object) -> object:
        seen.append(token)
        return original(token, *args, **kwargs)

    monkeypatch.setattr(tokens_module.jwt, "decode", counting)
    return seen


def test_a_token_is_decoded_once_and_reads_the_same_after(decodes: list[str]) -> None:
    clock = Clock()
    tokens = codec(clock)
    issued = tokens.issue_access("u1", "u1@example.com", frozenset({"user"}), session_id="s1")
    first = tokens.read_access(issued.token)
    again = [tokens.read_access(issued.token) for _ in range(5)]
    assert decodes == [issued.token]
    assert all(claims == first for claims in again)
    assert (first.user_id, first.session_id, first.roles) == ("u1", "s1", frozenset({"user"}))


def test_a_kept_token_still_expires_on_the_codecs_clock(decodes: list[str]) -> None:
    clock = Clock()
    tokens = codec(clock)
    issued = tokens.issue_access("u1", "u1@example.com", frozenset({"user"}))
    tokens.read_access(issued.token)
    clock.now = issued.expires_at - 1
    assert tokens.read_access(issued.token).user_id == "u1"
    clock.now = issued.expires_at
    with pytest.raises(InvalidToken, match=r"^The access token has expired\.$"):
        tokens.read_access(issued.token)
    # The words a token never seen before gets when expired: the same.
    fresh = codec(clock)
    with pytest.raises(InvalidToken, match=r"^The access token has expired\.$"):
        fresh.read_access(issued.token)


def test_forged_and_wrong_type_tokens_are_refused_every_time(decodes: list[str]) -> None:
    clock = Clock()
    tokens = codec(clock)
    forged = codec(clock, SigningKey("another-key-" + "y" * 32)).issue_access(
        "u1", "u1@example.com", frozenset({"admin"})
    )
    refresh = tokens.issue_refresh("u1", "family", 1)
    for _ in range(2):
        with pytest.raises(InvalidToken, match="not valid"):
            tokens.read_access(forged.token)
        with pytest.raises(InvalidToken, match="not an access token"):
            tokens.read_access(refresh.token)
    assert decodes == [forged.token, refresh.token] * 2  # nothing refused is kept


def test_a_token_is_verified_again_under_another_key() -> None:
    clock, verified = Clock(), VerifiedTokens()
    key = SigningKey(KEY)
    tokens = codec(clock, key, verified=verified)
    issued = tokens.issue_access("u1", "u1@example.com", frozenset({"user"}))
    tokens.read_access(issued.token)
    key._value = "a-rotated-key-" + "z" * 32  # as a new key loaded into the same holder
    with pytest.raises(InvalidToken, match="not valid"):
        tokens.read_access(issued.token)


def test_kept_tokens_are_bounded_and_never_kept_in_the_clear() -> None:
    clock, verified = Clock(), VerifiedTokens(size=3)
    tokens = codec(clock, verified=verified)
    issued = [
        tokens.issue_access(f"u{n}", f"u{n}@example.com", frozenset({"user"})) for n in range(5)
    ]
    for token in issued:
        tokens.read_access(token.token)
    assert len(verified) == 3
    kept_keys = list(verified._kept.keys())
    assert all(isinstance(key, bytes) and len(key) == 32 for key in kept_keys)
    assert not any(token.token.encode() in key for token in issued for key in kept_keys)
