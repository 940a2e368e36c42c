"""Every service's measurements over the last 5 or 60 minutes: request latency and error
rate per route, event lag per consumer.

Per route, the numbers are the service's recorder's raw values (``GET /ops/measurements``
of each service; the gateway's own recorder in process). For each service's latency and
event lag as a whole, CloudWatch is asked for p50/p95/p99 first (``GetMetricStatistics``
with extended statistics over the ``Service`` series): where it answers, that is the
figure, across every instance; where it does not (the embedded emulator keeps no
percentiles), the recorder's are, and ``source`` says which.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from botocore.exceptions import BotoCoreError, ClientError

from marketscope_gateway.components import Components
from marketscope_gateway.downstream.base import ServiceClient
from marketscope_gateway.errors import GatewayError
from marketscope_platform.topology import SERVICES
from marketscope_servicekit import Identity
from marketscope_servicekit.measurements import Distribution, Measurements, measure
from marketscope_servicekit.metrics import NAMESPACE

logger = logging.getLogger(__name__)
Source = Literal["cloudwatch", "recorder"]
MeasuredStatus = Literal["measured", "unreachable"]


@dataclass(frozen=True)
class Figure:
    """A distribution and who computed it."""

    distribution: Distribution
    source: Source


@dataclass(frozen=True)
class ServiceMeasured:
    service: str
    status: MeasuredStatus
    detail: str | None
    measurements: Measurements | None
    api_latency: Figure | None
    event_lag: Figure | None


def _datapoint(found: dict[str, Any]) -> Distribution | None:
    points = [p for p in found.get("Datapoints", []) if p.get("ExtendedStatistics")]
    if not points:
        return None
    # Percentiles of two periods cannot be merged: the period holding most samples.
    point = max(points, key=lambda p: p.get("SampleCount", 0))
    stats = point["ExtendedStatistics"]
    if not all(name in stats for name in ("p50", "p95", "p99")):
        return None
    return Distribution(
        count=int(point.get("SampleCount", 0)),
        p50_ms=round(float(stats["p50"]), 2),
        p95_ms=round(float(stats["p95"]), 2),
        p99_ms=round(float(stats["p99"]), 2),
    )


async def cloudwatch_distribution(
    cloudwatch: Any, service: str, metric: str, minutes: int
) -> Distribution | None:
    """p50/p95/p99 of the service's ``metric`` from CloudWatch, or None when the backend
    does not answer percentiles."""
    end = datetime.now(UTC)
    try:
        found = await cloudwatch.get_metric_statistics(
            Namespace=NAMESPACE,
            MetricName=metric,
            Dimensions=[{"Name": "Service", "Value": service}],
            StartTime=end - timedelta(minutes=minutes),
            EndTime=end,
            Period=minutes * 60,
            Statistics=["SampleCount"],
            ExtendedStatistics=["p50", "p95", "p99"],
            Unit="Milliseconds",
        )
    except (ClientError, BotoCoreError) as exc:
        logger.debug("no percentiles from CloudWatch for %s %s: %s", service, metric, exc)
        return None
    return _datapoint(found)


def _figure(cloudwatch: Distribution | None, recorded: Distribution) -> Figure:
    if cloudwatch is not None:
        return Figure(cloudwatch, "cloudwatch")
    return Figure(recorded, "recorder")


async def _recorded(
    gateway: Components, service: str, identity: Identity, minutes: int
) -> Measurements:
    if service == "gateway":
        return measure(gateway.metrics, minutes)
    client: ServiceClient = getattr(gateway, service.replace("-", "_"))
    body = await client.fetch(
        "GET",
        "/ops/measurements",
        identity,
        params={"minutes": str(minutes)},
        time_limit=gateway.settings.ops_check_timeout,
    )
    return Measurements.model_validate(body)


async def service_measured(
    gateway: Components, service: str, identity: Identity, minutes: int
) -> ServiceMeasured:
    try:
        recorded = await _recorded(gateway, service, identity, minutes)
    except GatewayError as exc:
        return ServiceMeasured(service, "unreachable", str(exc), None, None, None)
    cloudwatch = await gateway.aws.client("cloudwatch")
    latency, lag = await asyncio.gather(
        cloudwatch_distribution(cloudwatch, service, "APILatency", minutes),
        cloudwatch_distribution(cloudwatch, service, "EventLag", minutes),
    )
    return ServiceMeasured(
        service,
        "measured",
        None,
        recorded,
        _figure(latency, recorded.latency),
        _figure(lag, recorded.event_lag),
    )


async def measured(gateway: Components, identity: Identity, minutes: int) -> list[ServiceMeasured]:
    return list(
        await asyncio.gather(
            *(service_measured(gateway, name, identity, minutes) for name in SERVICES)
        )
    )
