"""A service's measurements over a window, from its recorder's timestamped raw values."""

from __future__ import annotations

import time

from marketscope_servicekit.measurements import measure
from marketscope_servicekit.metrics import MetricsRecorder


def latency(recorder: MetricsRecorder, route: str, status: int, *values: float) -> None:
    for value in values:
        recorder.record(
            "APILatency",
            value,
            unit="Milliseconds",
            dimensions={"Route": route, "Status": str(status)},
        )


def test_routes_their_error_rates_and_percentiles_within_the_window() -> None:
    recorder = MetricsRecorder("demo")
    latency(recorder, "/quotes/{symbol}", 200, *range(1, 100))  # 1..99 ms
    latency(recorder, "/quotes/{symbol}", 502, 500.0)
    latency(recorder, "/search", 200, 40.0, 60.0)
    for lag in (10.0, 20.0, 30.0):
        recorder.record("EventLag", lag, unit="Milliseconds")

    found = measure(recorder, 5)

    assert (found.requests, found.errors) == (102, 1)
    assert found.error_rate == round(1 / 102, 4)
    [quotes, search] = found.routes  # busiest first
    assert (quotes.route, quotes.requests, quotes.errors) == ("/quotes/{symbol}", 100, 1)
    assert quotes.error_rate == 0.01
    assert (quotes.latency.p50_ms, quotes.latency.p95_ms, quotes.latency.p99_ms) == (50, 95, 99)
    assert (search.requests, search.errors, search.latency.p50_ms) == (2, 0, 40)
    assert (found.event_lag.count, found.event_lag.p50_ms) == (3, 20)
    assert found.covers_seconds is not None
    assert 0 <= found.covers_seconds < 5


def test_values_older_than_the_window_are_left_out() -> None:
    recorder = MetricsRecorder("demo")
    latency(recorder, "/search", 200, 10.0, 20.0)
    ten_minutes_on = time.time() + 600

    assert measure(recorder, 60, now=ten_minutes_on).requests == 2
    later = measure(recorder, 5, now=ten_minutes_on)
    assert (later.requests, later.routes, later.error_rate) == (0, [], None)
    assert later.latency.p50_ms is None
    assert later.covers_seconds is None
