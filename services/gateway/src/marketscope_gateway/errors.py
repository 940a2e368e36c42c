"""The gateway's errors: one base class, each subclass also one of servicekit's shared kinds
(so it answers with that kind's status), with a problem ``type`` of its own where clients
tell it apart (a reused refresh token, a throttled login or registration)."""

from __future__ import annotations

from typing import ClassVar

from marketscope_servicekit import (
    Conflict,
    DependencyUnavailable,
    NotFound,
    ServiceError,
    TooManyRequests,
    Unauthenticated,
    problem_type,
)
from marketscope_servicekit import Forbidden as SharedForbidden
from marketscope_servicekit import InvalidRequest as SharedInvalidRequest


class GatewayError(ServiceError):
    """Base of every error the gateway raises."""


class InvalidRequest(SharedInvalidRequest, GatewayError):
    """Values the gateway cannot use (a weak password, an upload that is not multipart)."""


class InvalidCredentials(Unauthenticated, GatewayError):
    title: ClassVar[str | None] = "Invalid credentials"
    type: ClassVar[str] = problem_type("invalid-credentials")

    def __init__(self) -> None:
        # The same words whether the account exists or not: no account enumeration.
        super().__init__("The email or password is wrong.", headers={"WWW-Authenticate": "Bearer"})


class InvalidToken(Unauthenticated, GatewayError):
    def __init__(self, detail: str) -> None:
        super().__init__(detail, headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})


class RefreshTokenReused(InvalidToken):
    type: ClassVar[str] = problem_type("refresh-token-reused")

    def __init__(self) -> None:
        super().__init__(
            "This refresh token was already used; every session of its family is revoked."
        )


class Forbidden(SharedForbidden, GatewayError):
    pass


class UserNotFound(NotFound, GatewayError):
    type: ClassVar[str] = problem_type("user-not-found")

    def __init__(self, user_id: str) -> None:
        super().__init__(f"No user {user_id}.", extensions={"user_id": user_id})


class EmailTaken(Conflict, GatewayError):
    type: ClassVar[str] = problem_type("email-taken")

    def __init__(self) -> None:
        super().__init__("An account with this email exists.")


class ApiKeyNotFound(NotFound, GatewayError):
    """Also what another user's key id answers."""

    type: ClassVar[str] = problem_type("api-key-not-found")

    def __init__(self, key_id: str) -> None:
        super().__init__(f"No API key {key_id}.", extensions={"key_id": key_id})


class TooManyApiKeys(Conflict, GatewayError):
    type: ClassVar[str] = problem_type("too-many-api-keys")

    def __init__(self, limit: int) -> None:
        super().__init__(
            f"A user holds at most {limit} API keys: revoke one first.",
            extensions={"limit": limit},
        )


class ApiKeyIdTaken(Conflict, GatewayError):
    """A new key's random id is already another key's (tried again with a new one)."""

    def __init__(self, key_id: str) -> None:
        super().__init__(f"The API key id {key_id} is taken.")


class LoginThrottled(TooManyRequests, GatewayError):
    type: ClassVar[str] = problem_type("login-throttled")


class RegistrationThrottled(TooManyRequests, GatewayError):
    type: ClassVar[str] = problem_type("registration-throttled")


class StoreUnavailable(DependencyUnavailable, GatewayError):
    """The gateway's table did not answer, or answered with an error."""

    type: ClassVar[str] = problem_type("store-unavailable")

    def __init__(self, detail: str) -> None:
        super().__init__(detail, dependency="table")


class SigningKeyUnavailable(DependencyUnavailable, GatewayError):
    type: ClassVar[str] = problem_type("signing-key-unavailable")

    def __init__(self) -> None:
        super().__init__("The token signing key is not loaded yet.", dependency="signing-key")


class DownstreamError(GatewayError):
    """A service behind the gateway failed (502: no shared kind says "bad gateway")."""

    status: ClassVar[int] = 502
    type: ClassVar[str] = problem_type("downstream-error")

    def __init__(self, service: str, detail: str) -> None:
        super().__init__(detail, extensions={"service": service})
        self.service = service


class DownstreamStatus(DownstreamError):
    """A service answered a 4xx/5xx where the gateway needed its data."""

    def __init__(self, service: str, status: int, detail: str) -> None:
        super().__init__(service, detail)
        self.upstream_status = status


class DownstreamTimeout(DownstreamError):
    status: ClassVar[int] = 504
    type: ClassVar[str] = problem_type("downstream-timeout")


class DownstreamUnavailable(DependencyUnavailable, DownstreamError):
    """A service behind the gateway could not be reached."""

    type: ClassVar[str] = problem_type("downstream-unavailable")

    def __init__(self, service: str, detail: str) -> None:
        # ServiceError's own constructor: the two bases' constructors take different
        # arguments, so neither can hand on to the other.
        ServiceError.__init__(
            self, detail, extensions={"service": service}, headers={"Retry-After": "5"}
        )
        self.service = service
