"""JWTs: access tokens (short-lived, carry the roles and their session) and refresh
tokens (one per generation of a session family, rotated on every use).

Both are HS256 JWTs signed with the gateway's key; ``typ`` keeps one from being used as
the other. Expiry is checked against the injected clock, not the library's own, on every
read: an access token verified once is kept briefly (`verified.VerifiedTokens`), since a
client sends the same one with every request.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jwt

from marketscope_gateway.auth.signing_key import SigningKey
from marketscope_gateway.auth.verified import VerifiedTokens
from marketscope_gateway.errors import InvalidToken
from marketscope_servicekit import Identity

ALGORITHM = "HS256"
ISSUER = "marketscope-gateway"
AUDIENCE = "marketscope"
ACCESS = "access"
REFRESH = "refresh"


@dataclass(frozen=True)
class AccessClaims:
    user_id: str
    email: str
    roles: frozenset[str]
    expires_at: int
    # The refresh-token family the token was issued in (claim ``sid``), so what outlives
    # a request (a WebSocket) can end with its session. None in tokens issued before
    # access tokens carried it.
    session_id: str | None = None
    # Set when the caller presented a personal API key (its id) rather than a token:
    # ``expires_at`` is then when the key's cached check lapses, and there is no session.
    api_key_id: str | None = None

    @property
    def identity(self) -> Identity:
        return Identity(self.user_id, self.roles)


@dataclass(frozen=True)
class RefreshClaims:
    user_id: str
    family_id: str
    generation: int
    expires_at: int


@dataclass(frozen=True)
class IssuedToken:
    token: str
    expires_at: int


class TokenCodec:
    def __init__(
        self,
        key: SigningKey,
        *,
        access_ttl_seconds: int,
        refresh_ttl_seconds: int,
        clock: Callable[[], float] = time.time,
        verified: VerifiedTokens | None = None,
    ) -> None:
        self._key = key
        self.access_ttl = access_ttl_seconds
        self.refresh_ttl = refresh_ttl_seconds
        self._clock = clock
        self._verified = verified if verified is not None else VerifiedTokens()

    def _encode(self, claims: dict[str, Any], ttl: int) -> IssuedToken:
        now = int(self._clock())
        expires_at = now + ttl
        payload = {
            **claims,
            "iss": ISSUER,
            "aud": AUDIENCE,
            "iat": now,
            "exp": expires_at,
            "jti": uuid.uuid4().hex,
        }
        return IssuedToken(jwt.encode(payload, self._key.value, algorithm=ALGORITHM), expires_at)

    def _decode(self, token: str, typ: str) -> dict[str, Any]:
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                self._key.value,
                algorithms=[ALGORITHM],
                audience=AUDIENCE,
                issuer=ISSUER,
                options={
                    "require": ["exp", "iat", "sub", "typ"],
                    "verify_exp": False,
                    "verify_iat": False,
                },
            )
        except jwt.InvalidTokenError as exc:
            raise InvalidToken(f"The {typ} token is not valid.") from exc
        if claims.get("typ") != typ:
            raise InvalidToken(f"This is not a{'n' if typ == ACCESS else ''} {typ} token.")
        if not isinstance(claims["exp"], int) or claims["exp"] <= self._clock():
            raise InvalidToken(f"The {typ} token has expired.")
        return claims

    def issue_access(
        self, user_id: str, email: str, roles: frozenset[str], *, session_id: str | None = None
    ) -> IssuedToken:
        claims: dict[str, Any] = {
            "sub": user_id,
            "typ": ACCESS,
            "email": email,
            "roles": sorted(roles),
        }
        if session_id is not None:
            claims["sid"] = session_id
        return self._encode(claims, self.access_ttl)

    def issue_refresh(self, user_id: str, family_id: str, generation: int) -> IssuedToken:
        claims = {"sub": user_id, "typ": REFRESH, "fam": family_id, "gen": generation}
        return self._encode(claims, self.refresh_ttl)

    def read_access(self, token: str) -> AccessClaims:
        """The claims of a valid, unexpired access token; `InvalidToken` otherwise, with
        the same words whether the token was verified now or before."""
        key = self._key.value
        kept = self._verified.get(token, key)
        if kept is not None:
            if kept.expires_at <= self._clock():
                raise InvalidToken(f"The {ACCESS} token has expired.")
            return kept
        claims = self._verify_access(token)
        self._verified.keep(token, key, claims)
        return claims

    def _verify_access(self, token: str) -> AccessClaims:
        claims = self._decode(token, ACCESS)
        roles, session_id = claims.get("roles"), claims.get("sid")
        if (
            not isinstance(roles, list)
            or not isinstance(claims.get("email"), str)
            or not isinstance(session_id, str | None)
        ):
            raise InvalidToken("The access token is not valid.")
        return AccessClaims(
            user_id=str(claims["sub"]),
            email=claims["email"],
            roles=frozenset(str(role) for role in roles),
            expires_at=claims["exp"],
            session_id=session_id,
        )

    def read_refresh(self, token: str) -> RefreshClaims:
        claims = self._decode(token, REFRESH)
        family, generation = claims.get("fam"), claims.get("gen")
        if not isinstance(family, str) or not isinstance(generation, int):
            raise InvalidToken("The refresh token is not valid.")
        return RefreshClaims(str(claims["sub"]), family, generation, claims["exp"])
