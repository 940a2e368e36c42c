"""Middleware recording APILatency (ms, by route and status) and Errors for every request.

Plain ASGI rather than Starlette's BaseHTTPMiddleware, which wraps every response in a
stream and costs a hot endpoint a large share of its throughput.
"""

from __future__ import annotations

import time

from fastapi import FastAPI
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from marketscope_servicekit.metrics import MetricsRecorder


def route_template(app: ASGIApp, scope: Scope) -> str:
    """``/quotes/{symbol}`` rather than ``/quotes/AAPL``: one series per route. After the
    request, the route that answered it is in the scope (routers included into the app
    match as a whole, without a path of their own); before, or for a request no route
    took, the app's routes are matched again."""
    answered = getattr(scope.get("route"), "path", None)
    if isinstance(answered, str):
        return answered
    router = getattr(app, "router", None)
    for route in getattr(router, "routes", ()):
        match, _ = route.matches(scope)
        path = getattr(route, "path", None)
        if match is Match.FULL and isinstance(path, str):
            return path
    return "unmatched"


class RequestMetricsMiddleware:
    def __init__(self, app: ASGIApp, metrics: MetricsRecorder, root: FastAPI) -> None:
        self.app = app
        self.metrics = metrics
        self.root = root

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_with_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_with_status)
        finally:
            elapsed_ms = (time.perf_counter() - started) * 1000
            route = route_template(self.root, scope)
            dimensions = {"Route": route, "Status": str(status)}
            self.metrics.record(
                "APILatency", elapsed_ms, unit="Milliseconds", dimensions=dimensions
            )
            if status >= 500:
                self.metrics.increment("Errors", dimensions={"Route": route})


def install_request_metrics(app: FastAPI, metrics: MetricsRecorder) -> None:
    app.add_middleware(RequestMetricsMiddleware, metrics=metrics, root=app)
