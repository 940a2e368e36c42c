"""The error vocabulary every service shares: one class per kind of failure, each with one
HTTP status and one problem ``type`` URI (``urn:marketscope:problem:<slug>``).

A service's own errors subclass these (``class SymbolNotFound(NotFound, MarketDataError)``),
so the same failure has the same status in every service.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import Any, ClassVar

from botocore.exceptions import BotoCoreError, ClientError

from marketscope_events.aws_errors import error_code
from marketscope_servicekit.problems import ServiceError

PROBLEM_TYPE_PREFIX = "urn:marketscope:problem:"
# Codes with which AWS says "not now" rather than "never": the caller may retry.
THROTTLING_CODES = frozenset(
    {
        "ThrottlingException",
        "Throttling",
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
        "ServiceUnavailable",
        "InternalServerError",
        "TransactionInProgressException",
        "SlowDown",
    }
)


def problem_type(slug: str) -> str:
    """The problem type URI of ``slug``: ``urn:marketscope:problem:<slug>``."""
    return PROBLEM_TYPE_PREFIX + slug


class InvalidRequest(ServiceError):
    """The request is well-formed but its values cannot be used."""

    status: ClassVar[int] = HTTPStatus.UNPROCESSABLE_ENTITY
    title: ClassVar[str | None] = "Invalid request"
    type: ClassVar[str] = problem_type("invalid-request")

    def __init__(
        self,
        detail: str,
        *,
        allowed: Sequence[str] | None = None,
        extensions: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        extra = dict(extensions or {})
        if allowed:
            extra["allowed"] = list(allowed)
        super().__init__(detail, extensions=extra, headers=headers)


class Unauthenticated(ServiceError):
    status: ClassVar[int] = HTTPStatus.UNAUTHORIZED
    title: ClassVar[str | None] = "Unauthenticated"
    type: ClassVar[str] = problem_type("unauthenticated")


class Forbidden(ServiceError):
    status: ClassVar[int] = HTTPStatus.FORBIDDEN
    title: ClassVar[str | None] = "Forbidden"
    type: ClassVar[str] = problem_type("forbidden")


class NotFound(ServiceError):
    """Also what another user's resource answers: its existence is not disclosed."""

    status: ClassVar[int] = HTTPStatus.NOT_FOUND
    title: ClassVar[str | None] = "Not found"
    type: ClassVar[str] = problem_type("not-found")


class Conflict(ServiceError):
    status: ClassVar[int] = HTTPStatus.CONFLICT
    title: ClassVar[str | None] = "Conflict"
    type: ClassVar[str] = problem_type("conflict")


class PayloadTooLarge(ServiceError):
    status: ClassVar[int] = HTTPStatus.REQUEST_ENTITY_TOO_LARGE
    title: ClassVar[str | None] = "Payload too large"
    type: ClassVar[str] = problem_type("payload-too-large")


class UnsupportedMediaType(ServiceError):
    status: ClassVar[int] = HTTPStatus.UNSUPPORTED_MEDIA_TYPE
    title: ClassVar[str | None] = "Unsupported media type"
    type: ClassVar[str] = problem_type("unsupported-media-type")


class TooManyRequests(ServiceError):
    status: ClassVar[int] = HTTPStatus.TOO_MANY_REQUESTS
    title: ClassVar[str | None] = "Too many requests"
    type: ClassVar[str] = problem_type("rate-limited")

    def __init__(
        self,
        detail: str,
        retry_after: float,
        *,
        extensions: Mapping[str, Any] | None = None,
    ) -> None:
        seconds = max(1, math.ceil(retry_after))
        super().__init__(
            detail,
            extensions={**(extensions or {}), "retry_after": seconds},
            headers={"Retry-After": str(seconds)},
        )


class DependencyUnavailable(ServiceError):
    """Something the service needs (its table, queue, bucket, another service) does not
    answer now; retrying later may work."""

    status: ClassVar[int] = HTTPStatus.SERVICE_UNAVAILABLE
    title: ClassVar[str | None] = "Dependency unavailable"
    type: ClassVar[str] = problem_type("dependency-unavailable")

    def __init__(
        self,
        detail: str,
        *,
        dependency: str | None = None,
        retry_after: int = 5,
        extensions: Mapping[str, Any] | None = None,
    ) -> None:
        extra = dict(extensions or {})
        if dependency is not None:
            extra["dependency"] = dependency
        super().__init__(detail, extensions=extra, headers={"Retry-After": str(retry_after)})


class NotStarted(DependencyUnavailable):
    """A request reached the service before its start-up finished (or after shutdown)."""

    title: ClassVar[str | None] = "Not started"
    type: ClassVar[str] = problem_type("not-started")

    def __init__(self, service: str) -> None:
        super().__init__(
            f"The {service} service has not finished starting.",
            retry_after=1,
            extensions={"service": service},
        )


def is_unavailable(exc: BaseException) -> bool:
    """Whether an AWS error means "unreachable or throttled" (a 503), not a bug."""
    if isinstance(exc, ClientError):
        return error_code(exc) in THROTTLING_CODES
    return isinstance(exc, BotoCoreError | OSError)


def unavailable(exc: BaseException, dependency: str) -> DependencyUnavailable:
    """The 503 to raise ``from exc`` for an AWS call on ``dependency`` that failed."""
    described = error_code(exc) if isinstance(exc, ClientError) else type(exc).__name__
    return DependencyUnavailable(
        f"{dependency} is unavailable ({described}).", dependency=dependency
    )
