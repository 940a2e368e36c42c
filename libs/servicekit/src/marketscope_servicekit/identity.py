"""Who is calling: the gateway authenticates users and passes their identity to the
services in headers signed with a key only the gateway and the services hold. A service
trusts the identity only when the signature verifies and is fresh."""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from fastapi import Request
from pydantic_settings import BaseSettings, SettingsConfigDict

from marketscope_servicekit.errors import Unauthenticated

USER_HEADER = "X-MarketScope-User"
ROLES_HEADER = "X-MarketScope-Roles"
TIMESTAMP_HEADER = "X-MarketScope-Timestamp"
SIGNATURE_HEADER = "X-MarketScope-Signature"
MAX_AGE_SECONDS = 300
# The embedded stack's key when none is configured; a deployment sets its own secret.
DEVELOPMENT_KEY = "marketscope-development-internal-key"


@dataclass(frozen=True)
class Identity:
    user_id: str
    roles: frozenset[str] = frozenset({"user"})

    @property
    def is_admin(self) -> bool:
        return "admin" in self.roles


class IdentityError(Exception):
    """Missing, forged or stale identity headers."""


def _signature(key: str, user_id: str, roles: str, timestamp: str) -> str:
    message = f"{user_id}\n{roles}\n{timestamp}".encode()
    return hmac.new(key.encode(), message, hashlib.sha256).hexdigest()


def sign_identity(
    key: str, identity: Identity, *, clock: Callable[[], float] = time.time
) -> dict[str, str]:
    roles = ",".join(sorted(identity.roles))
    timestamp = str(int(clock()))
    return {
        USER_HEADER: identity.user_id,
        ROLES_HEADER: roles,
        TIMESTAMP_HEADER: timestamp,
        SIGNATURE_HEADER: _signature(key, identity.user_id, roles, timestamp),
    }


def verify_identity(
    key: str, headers: Mapping[str, str], *, clock: Callable[[], float] = time.time
) -> Identity:
    lowered = {name.lower(): value for name, value in headers.items()}
    try:
        user_id = lowered[USER_HEADER.lower()]
        roles = lowered[ROLES_HEADER.lower()]
        timestamp = lowered[TIMESTAMP_HEADER.lower()]
        signature = lowered[SIGNATURE_HEADER.lower()]
    except KeyError as exc:
        raise IdentityError(f"missing identity header {exc.args[0]}") from None
    expected = _signature(key, user_id, roles, timestamp)
    if not hmac.compare_digest(expected, signature):
        raise IdentityError("identity signature does not verify")
    if not timestamp.isdigit() or abs(clock() - int(timestamp)) > MAX_AGE_SECONDS:
        raise IdentityError("identity headers are stale")
    return Identity(user_id, frozenset(role for role in roles.split(",") if role))


class InternalKeySettings(BaseSettings):
    """``MARKETSCOPE_INTERNAL_KEY``: shared by the gateway and every service."""

    model_config = SettingsConfigDict(env_prefix="MARKETSCOPE_", extra="ignore")

    internal_key: str = DEVELOPMENT_KEY


def current_identity(request: Request) -> Identity:
    """FastAPI dependency: the verified caller, or 401 problem+json."""
    try:
        return verify_identity(request.app.state.internal_key, request.headers)
    except IdentityError as exc:
        raise Unauthenticated(str(exc)) from exc
