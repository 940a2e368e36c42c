"""Who is calling: the gateway authenticates users and passes their identity to the
services in headers signed with a key only the gateway and the services hold. A service
trusts the identity only when the signature verifies and is fresh.

The signature covers the request as well as the identity: method, path with query
string, a SHA-256 digest of the body, the identity values and the timestamp. A header
set captured off one request therefore proves nothing for another route, another body,
or after ``MAX_AGE_SECONDS``. Identity values travel percent-encoded, so a user id with
a line break or non-ASCII characters never breaks a header (the signature covers the
encoded form the service reads).
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from urllib.parse import quote, unquote

from fastapi import Request

from marketscope_servicekit.errors import Unauthenticated
from marketscope_servicekit.request_body import body_sha256

USER_HEADER = "X-MarketScope-User"
ROLES_HEADER = "X-MarketScope-Roles"
TIMESTAMP_HEADER = "X-MarketScope-Timestamp"
SIGNATURE_HEADER = "X-MarketScope-Signature"
MAX_AGE_SECONDS = 30
# Names the layout of the signed message, so a change of layout cannot verify old headers.
SIGNATURE_SCHEME = "marketscope-identity-v2"
EMPTY_BODY_SHA256 = hashlib.sha256(b"").hexdigest()


@dataclass(frozen=True)
class Identity:
    user_id: str
    roles: frozenset[str] = frozenset({"user"})

    @property
    def is_admin(self) -> bool:
        return "admin" in self.roles


class IdentityError(Exception):
    """Missing, forged or stale identity headers."""


def _encoded(value: str) -> str:
    return quote(value, safe="")


def _signature(
    key: str,
    *,
    method: str,
    path_with_query: str,
    body_digest: str,
    user: str,
    roles: str,
    timestamp: str,
) -> str:
    # Every part but the path is percent-encoded or fixed-alphabet, and an HTTP target
    # holds no line break: the newline-joined message has one reading only.
    message = "\n".join(
        (SIGNATURE_SCHEME, method.upper(), path_with_query, body_digest, user, roles, timestamp)
    )
    return hmac.new(key.encode(), message.encode(), hashlib.sha256).hexdigest()


def sign_identity(
    key: str,
    identity: Identity,
    *,
    method: str,
    path_with_query: str,
    body: bytes = b"",
    body_digest: str | None = None,
    clock: Callable[[], float] = time.time,
) -> dict[str, str]:
    """The headers that carry ``identity`` on the request ``method path_with_query``
    (the target exactly as sent, percent-encoding included) with ``body``. A streamed
    body that is not at hand passes its SHA-256 hex digest as ``body_digest`` instead."""
    user = _encoded(identity.user_id)
    roles = ",".join(_encoded(role) for role in sorted(identity.roles))
    timestamp = str(int(clock()))
    digest = body_digest if body_digest is not None else hashlib.sha256(body).hexdigest()
    signature = _signature(
        key,
        method=method,
        path_with_query=path_with_query,
        body_digest=digest,
        user=user,
        roles=roles,
        timestamp=timestamp,
    )
    return {
        USER_HEADER: user,
        ROLES_HEADER: roles,
        TIMESTAMP_HEADER: timestamp,
        SIGNATURE_HEADER: signature,
    }


def verify_identity(
    key: str,
    headers: Mapping[str, str],
    *,
    method: str,
    path_with_query: str,
    body_digest: str = EMPTY_BODY_SHA256,
    clock: Callable[[], float] = time.time,
) -> Identity:
    """The identity in ``headers`` if they were signed with ``key`` for this request
    (``method``, ``path_with_query`` as received, the body's SHA-256 hex digest) less
    than ``MAX_AGE_SECONDS`` ago; `IdentityError` otherwise."""
    lowered = {name.lower(): value for name, value in headers.items()}
    try:
        user = lowered[USER_HEADER.lower()]
        roles = lowered[ROLES_HEADER.lower()]
        timestamp = lowered[TIMESTAMP_HEADER.lower()]
        signature = lowered[SIGNATURE_HEADER.lower()]
    except KeyError as exc:
        raise IdentityError(f"missing identity header {exc.args[0]}") from None
    expected = _signature(
        key,
        method=method,
        path_with_query=path_with_query,
        body_digest=body_digest,
        user=user,
        roles=roles,
        timestamp=timestamp,
    )
    if not hmac.compare_digest(expected, signature):
        raise IdentityError("identity signature does not verify for this request")
    if not timestamp.isdigit() or abs(clock() - int(timestamp)) > MAX_AGE_SECONDS:
        raise IdentityError("identity headers are stale")
    return Identity(unquote(user), frozenset(unquote(role) for role in roles.split(",") if role))


def request_target(request: Request) -> str:
    """The path with query string as the client sent it (percent-encoding kept): what
    the caller signed."""
    raw_path: bytes | None = request.scope.get("raw_path")
    path = raw_path.decode("latin-1") if raw_path else quote(request.scope["path"])
    query: bytes = request.scope.get("query_string", b"")
    return f"{path}?{query.decode('latin-1')}" if query else path


async def current_identity(request: Request) -> Identity:
    """FastAPI dependency: the verified caller, or 401 problem+json. Reads the rest of
    the body when the route has not (its digest is part of what is signed)."""
    digest = await body_sha256(request)
    try:
        return verify_identity(
            request.app.state.internal_key,
            request.headers,
            method=request.method,
            path_with_query=request_target(request),
            body_digest=digest,
        )
    except IdentityError as exc:
        raise Unauthenticated(str(exc)) from exc
