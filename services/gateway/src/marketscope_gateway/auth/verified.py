"""Access tokens already verified, kept briefly so a client's next requests with the same
token skip the HMAC and the JSON decoding of a JWT (a client sends one token for its
every request until it expires).

What is kept cannot change the answer: an access token is stateless for HTTP (a logout
ends its session's sockets, not the token, see ``live/session.py``), so the claims a
token verifies to are the same on every request until it expires, and the codec checks
that expiry against its clock on every hit. Entries are keyed by the token's SHA-256
digest, never the token itself, and each remembers the signing key it was verified with:
under another key it is verified again. Bounded in number and in age, least recently
used first out.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

from cachetools import TTLCache

if TYPE_CHECKING:
    from marketscope_gateway.auth.tokens import AccessClaims

VERIFIED_TOKENS = 4096
VERIFIED_SECONDS = 60.0


@dataclass(frozen=True)
class _Verified:
    key: str
    claims: AccessClaims


class VerifiedTokens:
    def __init__(self, *, size: int = VERIFIED_TOKENS, seconds: float = VERIFIED_SECONDS) -> None:
        self._kept: TTLCache[bytes, _Verified] = TTLCache(maxsize=size, ttl=seconds)

    def get(self, token: str, key: str) -> AccessClaims | None:
        """The claims ``token`` verified to under ``key``, if kept."""
        kept = self._kept.get(_digest(token))
        return kept.claims if kept is not None and kept.key == key else None

    def keep(self, token: str, key: str, claims: AccessClaims) -> None:
        self._kept[_digest(token)] = _Verified(key, claims)

    def __len__(self) -> int:
        return len(self._kept)


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()
