"""Builds a service's FastAPI app the same way for all five services.

The lifespan opens one ``AwsClients`` for the app's lifetime, keeps it on ``app.state.aws``
(never a module global, so a test can point an app at any endpoint through
``AwsSettings``) and closes it at shutdown.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from importlib.metadata import PackageNotFoundError, version

from fastapi import APIRouter, FastAPI

from marketscope_platform.aws import AwsClients, AwsSettings
from marketscope_servicekit.health import ReadinessCheck, health_router
from marketscope_servicekit.identity import InternalKeySettings
from marketscope_servicekit.logging import configure_logging
from marketscope_servicekit.metrics import MetricsRecorder
from marketscope_servicekit.problems import install_problem_handlers
from marketscope_servicekit.request_metrics import install_request_metrics
from marketscope_servicekit.settings import ServiceSettings
from marketscope_servicekit.tracing import Tracing

ReadinessChecksFactory = Callable[[AwsClients], Iterable[ReadinessCheck]]
"""Given the app's open AWS clients, the checks ``/readyz`` runs."""

BackgroundFactory = Callable[[FastAPI], AbstractAsyncContextManager[None]]
"""Runs a service's own machinery (consumers, relays, schedulers) for the app's lifetime:
entered once ``app.state.aws`` and ``app.state.metrics`` exist, exited at shutdown."""

logger = logging.getLogger(__name__)


def create_service_app(
    name: str,
    settings: ServiceSettings,
    readiness_checks_factory: ReadinessChecksFactory,
    *,
    routers: Iterable[APIRouter] = (),
    aws_settings: AwsSettings | None = None,
    background: BackgroundFactory | None = None,
    metrics_interval: float = 10.0,
    trace_interval: float = 1.0,
) -> FastAPI:
    """A FastAPI app for service ``name`` with JSON logs, problem+json errors, health
    routes, request metrics, X-Ray traces, and AWS clients opened by its lifespan."""
    configure_logging(name, settings.log_level)
    metrics = MetricsRecorder(name)
    tracing = Tracing(name)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with AwsClients(aws_settings) as aws:
            app.state.aws = aws
            app.state.readiness_checks = tuple(readiness_checks_factory(aws))
            stop = asyncio.Event()
            flusher = asyncio.create_task(
                metrics.run(await aws.client("cloudwatch"), stop, interval=metrics_interval)
            )
            trace_sender = asyncio.create_task(
                tracing.run(await aws.client("xray"), stop, interval=trace_interval)
            )
            logger.info(
                "service started",
                extra={"endpoint": aws.settings.resolved_endpoint or "aws"},
            )
            try:
                if background is None:
                    yield
                else:
                    async with background(app):
                        yield
            finally:
                stop.set()
                await asyncio.gather(flusher, trace_sender)
                # Requests after shutdown must not reach closed clients.
                del app.state.readiness_checks, app.state.aws
                logger.info("service stopped")

    app = FastAPI(
        title=f"MarketScope {name}",
        version=_distribution_version(f"marketscope-{name}"),
        lifespan=lifespan,
    )
    app.state.metrics = metrics
    app.state.tracing = tracing
    app.state.internal_key = InternalKeySettings().internal_key
    install_problem_handlers(app)
    install_request_metrics(app, metrics)
    app.include_router(health_router(name, check_timeout=settings.readiness_timeout))
    for router in routers:
        app.include_router(router)
    tracing.instrument_app(app)
    return app


def _distribution_version(distribution: str) -> str:
    try:
        return version(distribution)
    except PackageNotFoundError:
        return "0+unknown"
