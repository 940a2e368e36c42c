"""Middleware recording APILatency (ms, by route and status) and Errors for every request."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, Response
from starlette.routing import Match

from marketscope_servicekit.metrics import MetricsRecorder


def route_template(request: Request) -> str:
    """``/quotes/{symbol}`` rather than ``/quotes/AAPL``: one series per route."""
    for route in request.app.router.routes:
        match, _ = route.matches(request.scope)
        if match is Match.FULL:
            return str(getattr(route, "path", request.url.path))
    return "unmatched"


def install_request_metrics(app: FastAPI, metrics: MetricsRecorder) -> None:
    @app.middleware("http")
    async def record_request(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        started = time.perf_counter()
        status = 500
        try:
            response = await call_next(request)
            status = response.status_code
            return response
        finally:
            elapsed_ms = (time.perf_counter() - started) * 1000
            dimensions = {"Route": route_template(request), "Status": str(status)}
            metrics.record("APILatency", elapsed_ms, unit="Milliseconds", dimensions=dimensions)
            if status >= 500:
                metrics.increment("Errors", dimensions={"Route": dimensions["Route"]})
