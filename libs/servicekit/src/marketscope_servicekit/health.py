"""Liveness and readiness endpoints.

``/healthz`` says the process serves requests and never touches a dependency, so an
orchestrator does not restart a healthy process because AWS is slow. ``/readyz`` runs the
service's readiness checks (its table, queue, bucket...) concurrently, each bounded by a
timeout, and answers 503 naming the checks that failed.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from http import HTTPStatus
from typing import Annotated, Literal

from botocore.exceptions import ClientError
from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel

from marketscope_events.aws_errors import error_code
from marketscope_platform.aws import AwsClients
from marketscope_servicekit.problems import ServiceError

logger = logging.getLogger(__name__)

ReadinessProbe = Callable[[], Awaitable[None]]
LIVENESS_PATH = "/healthz"
READINESS_PATH = "/readyz"
HEALTH_PATHS = frozenset({LIVENESS_PATH, READINESS_PATH})


@dataclass(frozen=True)
class ReadinessCheck:
    """A named probe of one dependency; the probe raises when it is not usable."""

    name: str
    probe: ReadinessProbe


class CheckResult(BaseModel):
    name: str
    ok: bool
    duration_ms: float
    error: str | None = None


class Health(BaseModel):
    status: Literal["ok"] = "ok"
    service: str


class Readiness(BaseModel):
    status: Literal["ready"] = "ready"
    service: str
    checks: list[CheckResult]


class NotReadyError(ServiceError):
    status = HTTPStatus.SERVICE_UNAVAILABLE


async def run_checks(
    checks: Sequence[ReadinessCheck], check_timeout: float, *, starting: bool = False
) -> list[CheckResult]:
    """Run every check at once; a slow dependency costs ``check_timeout``, not the sum.
    ``starting``: the service has just started, its dependencies may be starting too, so
    a failure logs at DEBUG rather than WARNING."""
    return list(
        await asyncio.gather(*(_run_check(check, check_timeout, starting) for check in checks))
    )


async def _run_check(check: ReadinessCheck, check_timeout: float, starting: bool) -> CheckResult:
    started = time.perf_counter()
    error: str | None = None
    try:
        async with asyncio.timeout(check_timeout):
            await check.probe()
    except TimeoutError:
        error = f"timed out after {check_timeout:g}s"
    except Exception as exc:
        error = _describe(exc)
        # The full message (endpoints, ARNs) goes to the log only, not to clients.
        logger.log(
            logging.DEBUG if starting else logging.WARNING,
            "readiness check failed",
            extra={"check": check.name, "error": str(exc), "starting": starting},
        )
    elapsed_ms = round((time.perf_counter() - started) * 1000, 1)
    return CheckResult(name=check.name, ok=error is None, duration_ms=elapsed_ms, error=error)


def _describe(exc: Exception) -> str:
    if isinstance(exc, ClientError):
        return error_code(exc) or "ClientError"
    return type(exc).__name__


def readiness_checks(request: Request) -> Sequence[ReadinessCheck]:
    """The checks the app's lifespan registered; none yet means it has not started."""
    checks: Sequence[ReadinessCheck] | None = getattr(request.app.state, "readiness_checks", None)
    if checks is None:
        raise NotReadyError("The service has not finished starting.")
    return checks


def started_recently(request: Request, grace_seconds: float) -> bool:
    """Whether the app's lifespan started less than ``grace_seconds`` ago."""
    started: float | None = getattr(request.app.state, "started_at", None)
    return started is None or time.monotonic() - started < grace_seconds


def health_router(
    service: str, *, check_timeout: float = 2.0, grace_seconds: float = 30.0
) -> APIRouter:
    """``GET /healthz`` and ``GET /readyz`` for ``service``. Failed checks log at DEBUG
    for ``grace_seconds`` after the service starts (its dependencies start too)."""
    router = APIRouter(tags=["health"])

    @router.get(LIVENESS_PATH, response_model=Health)
    async def healthz() -> Health:
        return Health(service=service)

    @router.get(
        READINESS_PATH,
        response_model=Readiness,
        responses={
            HTTPStatus.SERVICE_UNAVAILABLE: {
                "description": "Not started yet, or a check failed (named in `failed`)"
            }
        },
    )
    async def readyz(
        request: Request,
        checks: Annotated[Sequence[ReadinessCheck], Depends(readiness_checks)],
    ) -> Readiness:
        starting = started_recently(request, grace_seconds)
        results = await run_checks(checks, check_timeout, starting=starting)
        failed = [result.name for result in results if not result.ok]
        if failed:
            raise NotReadyError(
                f"Failed readiness checks: {', '.join(failed)}.",
                extensions={
                    "service": service,
                    "failed": failed,
                    "checks": [result.model_dump() for result in results],
                },
            )
        return Readiness(service=service, checks=results)

    return router


def table_check(aws: AwsClients, table_name: str, *, name: str = "table") -> ReadinessCheck:
    """The DynamoDB table exists and the credentials may describe it."""

    async def probe() -> None:
        dynamodb = await aws.client("dynamodb")
        await dynamodb.describe_table(TableName=table_name)

    return ReadinessCheck(name, probe)


def queue_check(aws: AwsClients, queue_name: str, *, name: str = "queue") -> ReadinessCheck:
    """The SQS queue exists and its URL resolves."""

    async def probe() -> None:
        sqs = await aws.client("sqs")
        await sqs.get_queue_url(QueueName=queue_name)

    return ReadinessCheck(name, probe)


def bucket_check(
    aws: AwsClients, bucket: str, prefix: str, *, name: str = "bucket"
) -> ReadinessCheck:
    """The S3 bucket exists and the credentials may list the service's own prefix.

    It lists one key under ``prefix`` rather than heading the bucket: a HeadBucket needs
    ``s3:ListBucket`` on the whole bucket, and a service's role may list its prefix only.
    """

    async def probe() -> None:
        s3 = await aws.client("s3")
        await s3.list_objects_v2(Bucket=bucket, Prefix=prefix, MaxKeys=1)

    return ReadinessCheck(name, probe)
