"""Builds a service's FastAPI app the same way for all five services.

The lifespan opens one ``AwsClients`` for the app's lifetime, builds the service's object
graph with its ``build_components`` (kept on ``app.state.components``: routes reach it
through `components_of`, which answers 503 until it exists), lets the service start its
background jobs on one `BackgroundTasks`, and at shutdown stops those jobs, closes the
components and then the clients.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from importlib.metadata import PackageNotFoundError, version
from typing import Protocol, TypeVar, runtime_checkable

from fastapi import APIRouter, Depends, FastAPI

from marketscope_platform.aws import AwsClients, AwsSettings
from marketscope_servicekit.health import ReadinessCheck, health_router
from marketscope_servicekit.heap import freeze_startup_heap
from marketscope_servicekit.identity import current_identity
from marketscope_servicekit.internal_key import InternalKeySettings, check_internal_key
from marketscope_servicekit.lifecycle import BackgroundTasks
from marketscope_servicekit.log_shipping import LogShipper
from marketscope_servicekit.logging import JsonFormatter, configure_logging
from marketscope_servicekit.measurements import measurements_router
from marketscope_servicekit.metrics import MetricsRecorder
from marketscope_servicekit.openapi_problems import (
    CommonStatuses,
    default_statuses,
    install_problem_docs,
    signed_identity_statuses,
)
from marketscope_servicekit.problems import install_problem_handlers
from marketscope_servicekit.request_body import install_body_digest, install_json_depth_limit
from marketscope_servicekit.request_context import (
    install_request_id,
    restore_service,
    use_service,
)
from marketscope_servicekit.request_metrics import install_request_metrics
from marketscope_servicekit.sampling import trace_sampler
from marketscope_servicekit.settings import ServiceSettings
from marketscope_servicekit.tracing import (
    Tracing,
    restore_tracer_provider,
    use_tracer_provider,
)

C = TypeVar("C")

BuildComponents = Callable[[AwsClients, MetricsRecorder], Awaitable[C]]
"""Builds the service's object graph from the app's open AWS clients and its metrics."""

ReadinessChecksFactory = Callable[[AwsClients, C], Iterable[ReadinessCheck]]
"""Given the app's AWS clients and built components, the checks ``/readyz`` runs."""

StartBackground = Callable[[C, BackgroundTasks], None]
"""Starts the service's background jobs (consumers, relay, schedulers)."""

logger = logging.getLogger(__name__)


@runtime_checkable
class Closeable(Protocol):
    async def aclose(self) -> None: ...


def create_service_app(
    name: str,
    settings: ServiceSettings,
    *,
    build: BuildComponents[C],
    readiness_checks: ReadinessChecksFactory[C],
    start: StartBackground[C] | None = None,
    routers: Iterable[APIRouter] = (),
    signed_identity: bool = True,
    problem_statuses: CommonStatuses | None = None,
    aws_settings: AwsSettings | None = None,
    metrics_interval: float = 10.0,
    trace_interval: float = 1.0,
    log_interval: float = 1.0,
    shutdown_grace_seconds: float = 10.0,
) -> FastAPI:
    """A FastAPI app for service ``name`` with JSON logs, problem+json errors, health
    routes, request metrics, X-Ray traces (sampled as ``settings`` say), and the
    service's components and background jobs run by its lifespan. With
    ``signed_identity`` every route of ``routers`` needs
    the gateway-signed identity (401 otherwise); the health routes never do. JSON
    bodies nested too deep are 422 in every service (`request_body`). The lifespan
    refuses to start with a published or short internal key unless AWS is a loopback
    emulator (`internal_key.check_internal_key`). The OpenAPI document declares every
    error as problem+json (`openapi_problems`), with the statuses any route answers as
    ``problem_statuses`` says (by default 503, 422 where input is validated, and 401
    with ``signed_identity``)."""
    configure_logging(name, settings.log_level)
    metrics = MetricsRecorder(name)
    tracing = Tracing(
        name,
        sampler=trace_sampler(settings.sampling_rules()),
        slow_seconds=settings.trace_slow_request_seconds,
    )
    shipper = LogShipper(name, capacity=settings.log_buffer_lines) if settings.ship_logs else None

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Before anything starts: a published or short key is refused off loopback.
        check_internal_key(app.state.internal_key, aws_settings or AwsSettings())
        # Consumers and jobs started from here trace and log as this service (tasks
        # inherit both).
        tracer_token = use_tracer_provider(tracing.provider)
        service_token = use_service(name)
        app.state.started_at = time.monotonic()
        try:
            async with running_service(app):
                yield
        finally:
            if shipper is not None:
                shipper.detach()
            restore_service(service_token)
            restore_tracer_provider(tracer_token)

    @asynccontextmanager
    async def running_service(app: FastAPI) -> AsyncIterator[None]:
        async with AwsClients(aws_settings, app_id=f"marketscope-{name}") as aws:
            stop = asyncio.Event()
            flusher = asyncio.create_task(
                metrics.run(await aws.client("cloudwatch"), stop, interval=metrics_interval)
            )
            trace_sender = asyncio.create_task(
                tracing.run(await aws.client("xray"), stop, interval=trace_interval)
            )
            senders = [flusher, trace_sender]
            if shipper is not None:
                shipper.attach(JsonFormatter(name))
                senders.append(
                    asyncio.create_task(
                        shipper.run(await aws.client("logs"), stop, interval=log_interval)
                    )
                )
            components = await build(aws, metrics)
            background = BackgroundTasks(metrics, grace_seconds=shutdown_grace_seconds)
            app.state.components = components
            app.state.readiness_checks = tuple(readiness_checks(aws, components))
            if start is not None:
                start(components, background)
            frozen = freeze_startup_heap()
            logger.info(
                "service started",
                extra={
                    "endpoint": aws.settings.resolved_endpoint or "aws",
                    "background": background.names,
                    "frozen_objects": frozen,
                },
            )
            try:
                yield
            finally:
                # Requests after shutdown must not reach stopped parts or closed clients.
                del app.state.readiness_checks, app.state.components
                await background.stop()
                if isinstance(components, Closeable):
                    await components.aclose()
                logger.info("service stopped")
                stop.set()
                await asyncio.gather(*senders)

    app = FastAPI(
        title=f"MarketScope {name}",
        version=_distribution_version(f"marketscope-{name}"),
        lifespan=lifespan,
        # Requests are traced (tracing.py) and measured (request_metrics.py) by the
        # service itself; FastAPI's own OpenTelemetry would only look, on every request,
        # for what to add to them.
        telemetry={"tracing": False, "metrics": False, "logs": False, "operation_spans": False},
    )
    app.state.service_name = name
    app.state.metrics = metrics
    app.state.tracing = tracing
    app.state.log_shipper = shipper
    app.state.internal_key = InternalKeySettings().internal_key
    install_problem_handlers(app)
    if signed_identity:
        install_body_digest(app)
    # Added last, so it runs first: a refused body is never hashed.
    install_json_depth_limit(app)
    install_request_metrics(app, metrics)
    install_request_id(app, name)
    app.include_router(
        health_router(
            name,
            check_timeout=settings.readiness_timeout,
            grace_seconds=settings.readiness_grace_seconds,
        )
    )
    dependencies = [Depends(current_identity)] if signed_identity else []
    for router in routers:
        app.include_router(router, dependencies=dependencies)
    if signed_identity:
        # The gateway's ops API asks every service (it reads its own recorder itself).
        app.include_router(measurements_router())
    if problem_statuses is None:
        problem_statuses = signed_identity_statuses if signed_identity else default_statuses
    install_problem_docs(app, common=problem_statuses)
    tracing.instrument_app(app)
    return app


def _distribution_version(distribution: str) -> str:
    try:
        return version(distribution)
    except PackageNotFoundError:
        return "0+unknown"
