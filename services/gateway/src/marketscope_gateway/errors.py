"""The gateway's errors: one base class, each subclass a problem+json status."""

from __future__ import annotations

import math
from typing import ClassVar

from marketscope_servicekit import ServiceError

PROBLEM = "urn:marketscope:problem:"


class GatewayError(ServiceError):
    """Base of every error the gateway raises."""


class InvalidRequest(GatewayError):
    status: ClassVar[int] = 400
    type: ClassVar[str] = PROBLEM + "invalid-request"


class InvalidCredentials(GatewayError):
    status: ClassVar[int] = 401
    title: ClassVar[str | None] = "Invalid credentials"
    type: ClassVar[str] = PROBLEM + "invalid-credentials"

    def __init__(self) -> None:
        # The same words whether the account exists or not: no account enumeration.
        super().__init__("The email or password is wrong.", headers={"WWW-Authenticate": "Bearer"})


class InvalidToken(GatewayError):
    status: ClassVar[int] = 401
    title: ClassVar[str | None] = "Unauthenticated"
    type: ClassVar[str] = PROBLEM + "unauthenticated"

    def __init__(self, detail: str) -> None:
        super().__init__(detail, headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})


class RefreshTokenReused(InvalidToken):
    type: ClassVar[str] = PROBLEM + "refresh-token-reused"

    def __init__(self) -> None:
        super().__init__(
            "This refresh token was already used; every session of its family is revoked."
        )


class Forbidden(GatewayError):
    status: ClassVar[int] = 403
    type: ClassVar[str] = PROBLEM + "forbidden"


class UserNotFound(GatewayError):
    status: ClassVar[int] = 404
    type: ClassVar[str] = PROBLEM + "user-not-found"

    def __init__(self, user_id: str) -> None:
        super().__init__(f"No user {user_id}.", extensions={"user_id": user_id})


class EmailTaken(GatewayError):
    status: ClassVar[int] = 409
    type: ClassVar[str] = PROBLEM + "email-taken"

    def __init__(self) -> None:
        super().__init__("An account with this email exists.")


class TooManyRequests(GatewayError):
    status: ClassVar[int] = 429
    type: ClassVar[str] = PROBLEM + "rate-limited"

    def __init__(self, detail: str, retry_after: float) -> None:
        seconds = max(1, math.ceil(retry_after))
        super().__init__(
            detail,
            extensions={"retry_after": seconds},
            headers={"Retry-After": str(seconds)},
        )


class LoginThrottled(TooManyRequests):
    type: ClassVar[str] = PROBLEM + "login-throttled"


class StoreUnavailable(GatewayError):
    status: ClassVar[int] = 503
    type: ClassVar[str] = PROBLEM + "store-unavailable"


class SigningKeyUnavailable(GatewayError):
    status: ClassVar[int] = 503
    type: ClassVar[str] = PROBLEM + "signing-key-unavailable"

    def __init__(self) -> None:
        super().__init__("The token signing key is not loaded yet.", headers={"Retry-After": "5"})


class DownstreamError(GatewayError):
    """A service behind the gateway failed or could not be reached."""

    status: ClassVar[int] = 502
    type: ClassVar[str] = PROBLEM + "downstream-error"

    def __init__(self, service: str, detail: str, *, retry_after: str | None = None) -> None:
        super().__init__(
            detail,
            extensions={"service": service},
            headers={"Retry-After": retry_after} if retry_after else None,
        )
        self.service = service


class DownstreamUnavailable(DownstreamError):
    status: ClassVar[int] = 503
    type: ClassVar[str] = PROBLEM + "downstream-unavailable"


class DownstreamTimeout(DownstreamError):
    status: ClassVar[int] = 504
    type: ClassVar[str] = PROBLEM + "downstream-timeout"
