"""``/api/v1/ops/*``, admins only: every service's readiness, the queues and their
dead-letter queues (with redrive), event lag, the gateway's API latency and its recent
errors. What this backend cannot measure is answered as not measured, never estimated."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, Field

from marketscope_gateway.api.deps import Admin, Gateway
from marketscope_gateway.errors import Forbidden, GatewayError
from marketscope_gateway.ops import measured, monitor
from marketscope_gateway.ops.recent_errors import RecentErrors
from marketscope_platform.topology import SERVICES
from marketscope_servicekit import DependencyUnavailable, NotFound, ReadinessCheck
from marketscope_servicekit.health import NotReadyError
from marketscope_servicekit.measurements import Minutes, RouteMeasurement
from marketscope_servicekit.openapi_problems import problem_responses

router = APIRouter(prefix="/api/v1/ops", tags=["ops"])
ADMIN_ONLY = problem_responses(Forbidden, descriptions={403: "The caller is not an admin"})
QUEUED_SERVICES = sorted(name for name, info in SERVICES.items() if info.dlq)
ServiceName = Annotated[str, Path(pattern=r"^[a-z][a-z-]{0,30}$")]


class UnknownQueue(NotFound, GatewayError):
    def __init__(self, detail: str) -> None:
        super().__init__(detail)


class RedriveFailed(DependencyUnavailable, GatewayError):
    def __init__(self, detail: str) -> None:
        super().__init__(detail, dependency="sqs")


class Check(BaseModel):
    name: str
    ok: bool
    duration_ms: float | None
    error: str | None


class ServiceHealth(BaseModel):
    service: str
    status: Literal["ready", "not-ready", "unreachable", "unexpected"] = Field(
        description="ready: /readyz answered 200; not-ready: 503 (failed checks named); "
        "unreachable: no answer; unexpected: any other answer"
    )
    detail: str | None
    checks: list[Check]
    duration_ms: float


class HealthReport(BaseModel):
    checked_at: datetime
    services: list[ServiceHealth]


class QueueState(BaseModel):
    name: str
    exists: bool
    visible: int | None = Field(description="ApproximateNumberOfMessages; null if missing")
    in_flight: int | None = Field(description="ApproximateNumberOfMessagesNotVisible")


class Percentiles(BaseModel):
    measured: bool
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None
    note: str = Field(description="Who measured it, or why it is not measured")


class ServiceQueues(BaseModel):
    service: str
    queue: QueueState
    dlq: QueueState
    oldest_message_age: str = Field(description="Why the oldest message's age is not known")
    event_lag: Percentiles = Field(description="Publication to receipt, by the consumer")


class QueuesReport(BaseModel):
    checked_at: datetime
    services: list[ServiceQueues]


class Redriven(BaseModel):
    service: str
    dlq: str
    queue: str
    moved: int = Field(description="Messages moved from the DLQ back to the queue")


class Latency(BaseModel):
    api_latency: Percentiles
    window: str


class RecentErrorItem(BaseModel):
    at: datetime
    level: str
    logger: str
    message: str
    exception: str | None
    method: str | None
    path: str | None
    context: dict[str, str] = Field(description="What the record named (a check, a service)")
    trace_id: str | None = Field(
        default=None, description="The W3C trace id (`marketscope trace` takes it)"
    )
    request_id: str | None = Field(default=None, description="The request's X-Request-Id")


class RecentErrorsReport(BaseModel):
    capacity: int = Field(description="How many the gateway keeps")
    seen: int = Field(description="How many it recorded since it started")
    errors: list[RecentErrorItem] = Field(description="Newest first")


def _own_checks(request: Request) -> Sequence[ReadinessCheck]:
    checks: Sequence[ReadinessCheck] | None = getattr(request.app.state, "readiness_checks", None)
    if checks is None:
        raise NotReadyError("The service has not finished starting.")
    return checks


def _recent_errors(request: Request) -> RecentErrors:
    errors: RecentErrors = request.app.state.recent_errors
    return errors


@router.get("/health", responses=ADMIN_ONLY)
async def service_health(request: Request, _: Admin, gateway: Gateway) -> HealthReport:
    """Every service's ``/readyz`` with its checks (the gateway's own run in process)."""
    found = await monitor.health(gateway, _own_checks(request))
    return HealthReport(
        checked_at=datetime.now(UTC),
        services=[ServiceHealth.model_validate(each, from_attributes=True) for each in found],
    )


@router.get("/queues", responses=ADMIN_ONLY)
async def queue_depths(_: Admin, gateway: Gateway) -> QueuesReport:
    """Each consuming service's queue and DLQ depth (the gateway's queue: this
    instance's), and its event lag where the gateway measures it."""
    found = await monitor.queue_report(gateway)
    return QueuesReport(
        checked_at=datetime.now(UTC),
        services=[ServiceQueues.model_validate(each, from_attributes=True) for each in found],
    )


@router.post(
    "/queues/{service}/redrive",
    responses=problem_responses(
        Forbidden,
        UnknownQueue,
        descriptions={
            403: "The caller is not an admin",
            404: "No such service, or it consumes no queue",
            503: "SQS refused some messages (they stay in the DLQ), or is unavailable",
        },
    ),
)
async def redrive(service: ServiceName, _: Admin, gateway: Gateway) -> Redriven:
    """Move every message of the service's DLQ back to its queue (the gateway's DLQ,
    shared by its instances: to this instance's queue). A message leaves the DLQ only
    once the queue accepted it."""
    if service not in QUEUED_SERVICES:
        raise UnknownQueue(f"No queue of a service named {service}: one of {QUEUED_SERVICES}.")
    try:
        moved = await monitor.redrive(gateway, service)
    except monitor.QueueMissing as exc:
        raise UnknownQueue(str(exc)) from exc
    except monitor.RedriveFailed as exc:
        raise RedriveFailed(str(exc)) from exc
    return Redriven.model_validate(moved, from_attributes=True)


@router.get("/latency", responses=ADMIN_ONLY)
async def api_latency(_: Admin, gateway: Gateway) -> Latency:
    """p50/p95/p99 of the gateway's own request latency (every route, this instance)."""
    return Latency(
        api_latency=Percentiles.model_validate(
            monitor.percentiles_of(gateway.metrics, "APILatency", "this gateway instance"),
            from_attributes=True,
        ),
        window=monitor.LATENCY_WINDOW,
    )


class Figure(BaseModel):
    count: int
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None
    source: Literal["cloudwatch", "recorder"] = Field(
        description="cloudwatch: extended statistics over every instance; recorder: this "
        "service's raw values (the backend answered no percentiles)"
    )


class ServiceMeasuredItem(BaseModel):
    service: str
    status: Literal["measured", "unreachable"]
    detail: str | None
    covers_seconds: float | None = Field(description="How far back the recorder's values reach")
    requests: int | None
    errors: int | None = Field(description="5xx answers")
    error_rate: float | None
    api_latency: Figure | None
    event_lag: Figure | None = Field(description="Publication to handled, by this consumer")
    routes: list[RouteMeasurement] = Field(
        description="Per route, from the recorder; busiest first"
    )


class MeasuredReport(BaseModel):
    checked_at: datetime
    minutes: int
    services: list[ServiceMeasuredItem]


def _figure(found: measured.Figure | None) -> Figure | None:
    if found is None:
        return None
    return Figure(**found.distribution.model_dump(), source=found.source)


def _measured_item(found: measured.ServiceMeasured) -> ServiceMeasuredItem:
    recorded = found.measurements
    return ServiceMeasuredItem(
        service=found.service,
        status=found.status,
        detail=found.detail,
        covers_seconds=recorded.covers_seconds if recorded else None,
        requests=recorded.requests if recorded else None,
        errors=recorded.errors if recorded else None,
        error_rate=recorded.error_rate if recorded else None,
        api_latency=_figure(found.api_latency),
        event_lag=_figure(found.event_lag),
        routes=recorded.routes if recorded else [],
    )


@router.get("/measurements", responses=ADMIN_ONLY)
async def service_measurements(
    admin: Admin,
    gateway: Gateway,
    minutes: Minutes = 5,
) -> MeasuredReport:
    """Every service's API latency p50/p95/p99 and error rate, as a whole and per route,
    and its event lag, over the last ``minutes`` (each service's instance the gateway
    reaches; CloudWatch's percentiles where the backend answers them)."""
    found = await measured.measured(gateway, admin.identity, minutes)
    return MeasuredReport(
        checked_at=datetime.now(UTC),
        minutes=minutes,
        services=[_measured_item(each) for each in found],
    )


@router.get("/errors", responses=ADMIN_ONLY)
async def recent_errors(
    request: Request,
    _: Admin,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
) -> RecentErrorsReport:
    """The gateway's recent warnings and errors (failed downstream calls, unhandled
    exceptions, AWS unavailable), newest first."""
    errors = _recent_errors(request)
    return RecentErrorsReport(
        capacity=errors.capacity,
        seen=errors.seen,
        errors=[
            RecentErrorItem.model_validate(e, from_attributes=True) for e in errors.newest(limit)
        ],
    )
