"""Shared pieces of the MarketScope services: app factory, settings base, health
endpoints, problem+json errors and JSON logs."""

from marketscope_servicekit.app import (
    BackgroundFactory,
    ReadinessChecksFactory,
    create_service_app,
)
from marketscope_servicekit.health import (
    ReadinessCheck,
    bucket_check,
    health_router,
    queue_check,
    table_check,
)
from marketscope_servicekit.identity import Identity, current_identity, sign_identity
from marketscope_servicekit.logging import configure_logging
from marketscope_servicekit.metrics import MetricsRecorder
from marketscope_servicekit.problems import ServiceError, install_problem_handlers
from marketscope_servicekit.serve import serve
from marketscope_servicekit.settings import ServiceSettings

__all__ = [
    "BackgroundFactory",
    "Identity",
    "MetricsRecorder",
    "ReadinessCheck",
    "ReadinessChecksFactory",
    "ServiceError",
    "ServiceSettings",
    "bucket_check",
    "configure_logging",
    "create_service_app",
    "current_identity",
    "health_router",
    "install_problem_handlers",
    "queue_check",
    "serve",
    "sign_identity",
    "table_check",
]
