"""The CloudWatch metrics the services publish, as the dashboard and alarms read them.

Every series carries exactly one dimension, ``Service``. CloudWatch does not roll
dimensions up: a service that also publishes per-route series (APILatency by route and
status) must publish the ``Service``-only series too, or the alarms see no data.
"""

from __future__ import annotations

from dataclasses import dataclass

NAMESPACE = "MarketScope"
SERVICE_DIMENSION = "Service"
PERCENTILES = ("p50", "p95", "p99")


@dataclass(frozen=True)
class MetricView:
    name: str
    stats: tuple[str, ...]
    unit: str


METRICS: tuple[MetricView, ...] = (
    MetricView("APILatency", PERCENTILES, "ms"),
    MetricView("Errors", ("Sum",), "count"),
    MetricView("CacheHitRate", ("Average",), "ratio"),
    MetricView("ToolExecutionTime", PERCENTILES, "ms"),
    MetricView("ModelTokens", ("Sum",), "tokens"),
    MetricView("ModelLatency", PERCENTILES, "ms"),
    MetricView("EventLag", PERCENTILES, "ms"),
    MetricView("QueueDepth", ("Maximum",), "messages"),
    MetricView("DLQDepth", ("Maximum",), "messages"),
    MetricView("StockUpdates", ("Sum",), "count"),
    MetricView("ScheduledRefreshFailures", ("Sum",), "count"),
)
