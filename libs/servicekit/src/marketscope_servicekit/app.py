"""Builds a service's FastAPI app the same way for all five services.

The lifespan opens one ``AwsClients`` for the app's lifetime, keeps it on ``app.state.aws``
(never a module global, so a test can point an app at any endpoint through
``AwsSettings``) and closes it at shutdown.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from importlib.metadata import PackageNotFoundError, version

from fastapi import APIRouter, FastAPI

from marketscope_events.aws import AwsClients, AwsSettings
from marketscope_servicekit.health import ReadinessCheck, health_router
from marketscope_servicekit.logging import configure_logging
from marketscope_servicekit.problems import install_problem_handlers
from marketscope_servicekit.settings import ServiceSettings

ReadinessChecksFactory = Callable[[AwsClients], Iterable[ReadinessCheck]]
"""Given the app's open AWS clients, the checks ``/readyz`` runs."""

logger = logging.getLogger(__name__)


def create_service_app(
    name: str,
    settings: ServiceSettings,
    readiness_checks_factory: ReadinessChecksFactory,
    *,
    routers: Iterable[APIRouter] = (),
    aws_settings: AwsSettings | None = None,
) -> FastAPI:
    """A FastAPI app for service ``name`` with JSON logs, problem+json errors, health
    routes and AWS clients opened by its lifespan."""
    configure_logging(name, settings.log_level)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with AwsClients(aws_settings) as aws:
            app.state.aws = aws
            app.state.readiness_checks = tuple(readiness_checks_factory(aws))
            logger.info(
                "service started",
                extra={"endpoint": aws.settings.resolved_endpoint or "aws"},
            )
            try:
                yield
            finally:
                # Requests after shutdown must not reach closed clients.
                del app.state.readiness_checks, app.state.aws
                logger.info("service stopped")

    app = FastAPI(
        title=f"MarketScope {name}",
        version=_distribution_version(f"marketscope-{name}"),
        lifespan=lifespan,
    )
    install_problem_handlers(app)
    app.include_router(health_router(name, check_timeout=settings.readiness_timeout))
    for router in routers:
        app.include_router(router)
    return app


def _distribution_version(distribution: str) -> str:
    try:
        return version(distribution)
    except PackageNotFoundError:
        return "0+unknown"
