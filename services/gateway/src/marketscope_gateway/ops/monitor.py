"""What the ops API reports, gathered when asked: every service's ``/readyz`` (the
gateway's own checks run in process), the depth of each queue and DLQ the topology
names, event lag and API latency from the gateway's own measurements, and redrive.

Nothing is estimated: what this backend cannot measure is reported as not measured.
SQS has no attribute for the age of a queue's oldest message (CloudWatch's
ApproximateAgeOfOldestMessage, which the emulator does not keep); event lag is what a
consumer measures as it receives, so the gateway knows its own consumer's only.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import httpx

from marketscope_gateway.components import Components
from marketscope_platform import queues
from marketscope_platform.topology import SERVICES
from marketscope_servicekit import MetricsRecorder, ReadinessCheck
from marketscope_servicekit.health import run_checks

HealthStatus = Literal["ready", "not-ready", "unreachable", "unexpected"]
LATENCY_WINDOW = "the gateway's last 10,000 requests (this instance, since it started)"
OLDEST_MESSAGE_AGE = (
    "not measured by this backend: SQS reports no age of a queue's oldest message "
    "(CloudWatch's ApproximateAgeOfOldestMessage)"
)


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    duration_ms: float | None
    error: str | None


@dataclass(frozen=True)
class ServiceHealth:
    service: str
    status: HealthStatus
    detail: str | None
    checks: list[Check]
    duration_ms: float


@dataclass(frozen=True)
class QueueState:
    name: str
    exists: bool
    visible: int | None
    in_flight: int | None


@dataclass(frozen=True)
class Percentiles:
    measured: bool
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None
    note: str


@dataclass(frozen=True)
class ServiceQueues:
    service: str
    queue: QueueState
    dlq: QueueState
    oldest_message_age: str
    event_lag: Percentiles


def percentiles_of(metrics: MetricsRecorder, name: str, measured_by: str) -> Percentiles:
    values = metrics.percentiles(name, unit="Milliseconds")
    if not values:
        return Percentiles(False, None, None, None, f"nothing measured yet by {measured_by}")
    return Percentiles(
        True,
        round(values["p50"], 2),
        round(values["p95"], 2),
        round(values["p99"], 2),
        f"measured by {measured_by}",
    )


def _checks(items: Any) -> list[Check]:
    if not isinstance(items, list):
        return []
    return [
        Check(
            name=str(item.get("name", "?")),
            ok=bool(item.get("ok")),
            duration_ms=item.get("duration_ms"),
            error=item.get("error"),
        )
        for item in items
        if isinstance(item, dict)
    ]


async def own_health(checks: Sequence[ReadinessCheck], check_seconds: float) -> ServiceHealth:
    started = time.perf_counter()
    results = await run_checks(checks, check_seconds)
    failed = [result.name for result in results if not result.ok]
    return ServiceHealth(
        service="gateway",
        status="not-ready" if failed else "ready",
        detail=f"Failed readiness checks: {', '.join(failed)}." if failed else None,
        checks=[Check(r.name, r.ok, r.duration_ms, r.error) for r in results],
        duration_ms=_since(started),
    )


async def service_health(
    service: str, http: httpx.AsyncClient, check_seconds: float
) -> ServiceHealth:
    """The service's ``/readyz`` as it answered: ready (200) or not (503, its failed
    checks named), or why there was no answer."""
    started = time.perf_counter()
    try:
        response = await http.get("/readyz", timeout=check_seconds)
    except httpx.HTTPError as exc:
        return ServiceHealth(service, "unreachable", type(exc).__name__, [], _since(started))
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        body = {}
    if response.status_code == 200:
        return ServiceHealth(service, "ready", None, _checks(body.get("checks")), _since(started))
    if response.status_code == 503:
        detail = body.get("detail")
        return ServiceHealth(
            service,
            "not-ready",
            str(detail) if detail else "503",
            _checks(body.get("checks")),
            _since(started),
        )
    return ServiceHealth(
        service, "unexpected", f"/readyz answered {response.status_code}", [], _since(started)
    )


def _since(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 1)


def downstream_http(gateway: Components) -> dict[str, httpx.AsyncClient]:
    return {
        "chat": gateway.chat.http,
        "market-data": gateway.market_data.http,
        "rag": gateway.rag.http,
        "notifier": gateway.notifier.http,
    }


async def health(gateway: Components, own_checks: Sequence[ReadinessCheck]) -> list[ServiceHealth]:
    timeout = gateway.settings.ops_check_timeout
    http = downstream_http(gateway)
    found = await asyncio.gather(
        own_health(own_checks, timeout),
        *(service_health(name, http[name], timeout) for name in SERVICES if name != "gateway"),
    )
    return list(found)


def source_queue(gateway: Components, service: str) -> str | None:
    """The queue a service consumes from; the gateway's is this instance's own."""
    if service == "gateway":
        return gateway.live_feed.queue_name
    return SERVICES[service].queue


async def queue_state(sqs: Any, name: str) -> QueueState:
    try:
        depth = await queues.queue_depth(sqs, await queues.queue_url(sqs, name))
    except queues.QueueNotFound:
        return QueueState(name, False, None, None)
    return QueueState(name, True, depth.visible, depth.in_flight)


async def _service_queues(gateway: Components, sqs: Any, service: str) -> ServiceQueues | None:
    queue, dlq = source_queue(gateway, service), SERVICES[service].dlq
    if queue is None or dlq is None:
        return None
    queue_found, dlq_found = await asyncio.gather(queue_state(sqs, queue), queue_state(sqs, dlq))
    if service == "gateway":
        lag = percentiles_of(gateway.metrics, "EventLag", "this gateway instance's consumer")
    else:
        lag = Percentiles(
            False,
            None,
            None,
            None,
            f"not measured here: {service}'s consumer records it in its own process "
            "(its EventLag metric; GET /api/v1/ops/measurements asks it)",
        )
    return ServiceQueues(service, queue_found, dlq_found, OLDEST_MESSAGE_AGE, lag)


async def queue_report(gateway: Components) -> list[ServiceQueues]:
    sqs = await gateway.aws.client("sqs")
    found = await asyncio.gather(*(_service_queues(gateway, sqs, name) for name in SERVICES))
    return [each for each in found if each is not None]


@dataclass(frozen=True)
class Redriven:
    service: str
    dlq: str
    queue: str
    moved: int


class QueueMissing(LookupError):
    pass


class RedriveFailed(RuntimeError):
    pass


async def redrive(gateway: Components, service: str) -> Redriven:
    """Every message of ``service``'s DLQ back to its queue (the gateway's: this
    instance's). Raises `QueueMissing` or `RedriveFailed`."""
    queue, dlq = source_queue(gateway, service), SERVICES[service].dlq
    if queue is None or dlq is None:
        raise QueueMissing(f"{service} consumes no queue.")
    sqs = await gateway.aws.client("sqs")
    try:
        dlq_url, queue_url = await asyncio.gather(
            queues.queue_url(sqs, dlq), queues.queue_url(sqs, queue)
        )
    except queues.QueueNotFound as exc:
        raise QueueMissing(f"The queue {exc.name} does not exist.") from exc
    try:
        moved = await queues.redrive(sqs, dlq_url, queue_url)
    except queues.RedriveRefused as exc:
        raise RedriveFailed(str(exc)) from exc
    return Redriven(service, dlq, queue, moved)
