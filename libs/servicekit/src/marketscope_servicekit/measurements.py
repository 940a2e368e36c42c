"""What a service measured itself over the last minutes, from its recorder's raw values:
request latency p50/p95/p99 and error rate per route, and event lag per consumer.

``GET /ops/measurements?minutes=5`` answers it to admins (the gateway's ops API asks each
service). The recorder keeps the newest 10,000 values of each series, so at a high rate a
window can hold fewer minutes than asked for: ``covers_seconds`` says how many it does.
"""

from __future__ import annotations

import time
from collections import defaultdict
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import AfterValidator, BaseModel, Field

from marketscope_servicekit.errors import Forbidden
from marketscope_servicekit.identity import Identity, current_identity
from marketscope_servicekit.metrics import MetricsRecorder, Samples, percentile

WINDOWS = (5, 60)


def _a_window(minutes: int) -> int:
    if minutes not in WINDOWS:
        raise ValueError(f"the window is {WINDOWS[0]} or {WINDOWS[1]} minutes")
    return minutes


# An int checked after parsing: a Literal of ints refuses the query string "5".
Minutes = Annotated[
    int,
    AfterValidator(_a_window),
    Query(description="The window: 5 or 60 minutes", json_schema_extra={"enum": [5, 60]}),
]


class Distribution(BaseModel):
    count: int
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None


class RouteMeasurement(BaseModel):
    route: str
    requests: int
    errors: int = Field(description="Answers with a 5xx status")
    error_rate: float | None = Field(description="errors / requests; null without requests")
    latency: Distribution


class Measurements(BaseModel):
    service: str
    minutes: int
    measured_by: Literal["recorder"] = "recorder"
    covers_seconds: float | None = Field(
        description="How far back the kept values reach inside the window (at most "
        "minutes x 60); null when nothing was recorded"
    )
    requests: int
    errors: int
    error_rate: float | None
    latency: Distribution = Field(description="Every route's requests together")
    routes: list[RouteMeasurement] = Field(description="Busiest first")
    event_lag: Distribution = Field(description="Publication to handled, by this consumer")


def distribution(values: list[float]) -> Distribution:
    if not values:
        return Distribution(count=0, p50_ms=None, p95_ms=None, p99_ms=None)
    ordered = sorted(values)
    p50, p95, p99 = (round(percentile(ordered, p / 100), 2) for p in (50, 95, 99))
    return Distribution(count=len(values), p50_ms=p50, p95_ms=p95, p99_ms=p99)


def _recent(samples: Samples, since: float) -> list[tuple[float, float]]:
    return [(at, value) for at, value in samples.values if at >= since]


def _rate(errors: int, requests: int) -> float | None:
    return round(errors / requests, 4) if requests else None


def measure(recorder: MetricsRecorder, minutes: int, *, now: float | None = None) -> Measurements:
    reference = now if now is not None else time.time()
    since = reference - minutes * 60
    by_route: dict[str, list[float]] = defaultdict(list)
    errors: dict[str, int] = defaultdict(int)
    oldest: float | None = None
    for samples in recorder.samples("APILatency", unit="Milliseconds"):
        route, status = samples.dimensions.get("Route"), samples.dimensions.get("Status")
        if route is None or status is None:
            continue  # the Service-only series counts the same requests again
        recent = _recent(samples, since)
        if recent:
            oldest = min(oldest or recent[0][0], recent[0][0])
        by_route[route].extend(value for _, value in recent)
        if status.isdigit() and int(status) >= 500:
            errors[route] += len(recent)
    lag = [
        value
        for samples in recorder.samples("EventLag", unit="Milliseconds")
        if not samples.dimensions
        for _, value in _recent(samples, since)
    ]
    routes = [
        RouteMeasurement(
            route=route,
            requests=len(values),
            errors=errors[route],
            error_rate=_rate(errors[route], len(values)),
            latency=distribution(values),
        )
        for route, values in sorted(by_route.items(), key=lambda item: -len(item[1]))
        if values
    ]
    everything = [value for values in by_route.values() for value in values]
    total_errors = sum(errors.values())
    return Measurements(
        service=recorder.service,
        minutes=minutes,
        covers_seconds=None if oldest is None else round(reference - oldest, 1),
        requests=len(everything),
        errors=total_errors,
        error_rate=_rate(total_errors, len(everything)),
        latency=distribution(everything),
        routes=routes,
        event_lag=distribution(lag),
    )


def measurements_router() -> APIRouter:
    """``GET /ops/measurements``: admins only (403 otherwise)."""
    router = APIRouter(tags=["ops"])

    @router.get("/ops/measurements")
    async def measurements(
        request: Request,
        identity: Annotated[Identity, Depends(current_identity)],
        minutes: Minutes = 5,
    ) -> Measurements:
        """This instance's request latency and error rate per route, and its event lag,
        over the last ``minutes``."""
        if not identity.is_admin:
            raise Forbidden("Measurements are for admins.")
        recorder: MetricsRecorder = request.app.state.metrics
        return measure(recorder, minutes)

    return router
