"""The ``MarketScope`` CloudWatch dashboard: every metric by service, DLQs and alarms."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from marketscope_events.catalog import dlq_name
from marketscope_infra.definitions.metrics import (
    METRICS,
    NAMESPACE,
    SERVICE_DIMENSION,
    MetricView,
)
from marketscope_infra.definitions.model import REGION, JsonObject, Resource, arn
from marketscope_infra.definitions.observability import API_LATENCY_P95_THRESHOLD_MS

DASHBOARD_NAME = "MarketScope"
GRID_WIDTH = 24
WIDGET_HEIGHT = 6
PERIOD_SECONDS = 60


def _time_series(title: str, unit: str, metrics: list[list[object]], stat: str) -> JsonObject:
    return {
        "type": "metric",
        "width": 8 if stat.startswith("p") else 12,
        "properties": {
            "title": title,
            "view": "timeSeries",
            "stacked": False,
            "region": REGION,
            "period": PERIOD_SECONDS,
            "stat": stat,
            "metrics": metrics,
            "yAxis": {"left": {"label": unit, "showUnits": False}},
        },
    }


def metric_widgets(view: MetricView, services: Sequence[str]) -> list[JsonObject]:
    """One widget per statistic, one line per service: ``APILatency p95`` compares the
    services' p95 on one chart."""
    widgets = []
    for stat in view.stats:
        lines: list[list[object]] = [
            [NAMESPACE, view.name, SERVICE_DIMENSION, service, {"label": service}]
            for service in services
        ]
        widget = _time_series(f"{view.name} {stat}", view.unit, lines, stat)
        if view.name == "APILatency" and stat == "p95":
            widget["properties"]["annotations"] = {
                "horizontal": [{"label": "alarm", "value": API_LATENCY_P95_THRESHOLD_MS}]
            }
        widgets.append(widget)
    return widgets


def dlq_widget(dlq_services: Iterable[str]) -> JsonObject:
    lines: list[list[object]] = [
        ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", dlq_name(service)]
        for service in dlq_services
    ]
    return _time_series("Dead-letter queues (visible messages)", "messages", lines, "Maximum")


def alarm_widget(alarm_names: Iterable[str]) -> JsonObject:
    return {
        "type": "alarm",
        "width": GRID_WIDTH,
        "properties": {
            "title": "Alarms",
            "alarms": [arn("cloudwatch", f"alarm:{name}") for name in alarm_names],
        },
    }


def _laid_out(widgets: list[JsonObject]) -> list[JsonObject]:
    """Left to right, wrapping at the grid's width."""
    x = y = 0
    for widget in widgets:
        width = int(widget["width"])
        if x + width > GRID_WIDTH:
            x, y = 0, y + WIDGET_HEIGHT
        widget.update(x=x, y=y, height=WIDGET_HEIGHT)
        x += width
    return widgets


def dashboard(
    services: Sequence[str], dlq_services: Iterable[str], alarm_names: Iterable[str]
) -> Resource:
    # Percentile views (three narrow widgets) fill whole rows; single-stat ones pair up.
    views = sorted(METRICS, key=lambda view: len(view.stats) == 1)
    widgets = [
        alarm_widget(alarm_names),
        *(widget for view in views for widget in metric_widgets(view, services)),
        dlq_widget(dlq_services),
    ]
    body = {"start": "-PT3H", "periodOverride": "inherit", "widgets": _laid_out(widgets)}
    return Resource("dashboard", DASHBOARD_NAME, {"body": body})
