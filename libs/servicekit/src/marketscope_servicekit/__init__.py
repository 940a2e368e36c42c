"""Shared pieces of the MarketScope services: app factory, settings base, health
endpoints, problem+json errors and JSON logs."""

from marketscope_servicekit.app import (
    BuildComponents,
    ReadinessChecksFactory,
    StartBackground,
    create_service_app,
)
from marketscope_servicekit.errors import (
    Conflict,
    DependencyUnavailable,
    Forbidden,
    InvalidRequest,
    NotFound,
    NotStarted,
    PayloadTooLarge,
    TooManyRequests,
    Unauthenticated,
    UnsupportedMediaType,
    problem_type,
)
from marketscope_servicekit.health import (
    ReadinessCheck,
    bucket_check,
    health_router,
    queue_check,
    table_check,
)
from marketscope_servicekit.identity import Identity, current_identity, sign_identity
from marketscope_servicekit.lifecycle import (
    BackgroundJob,
    BackgroundTasks,
    ConsumerOptions,
    build_relay,
    components_of,
    run_consumer,
    run_relay,
)
from marketscope_servicekit.logging import configure_logging
from marketscope_servicekit.metrics import MetricsRecorder
from marketscope_servicekit.problems import ServiceError, install_problem_handlers
from marketscope_servicekit.serve import serve
from marketscope_servicekit.settings import ServiceSettings

__all__ = [
    "BackgroundJob",
    "BackgroundTasks",
    "BuildComponents",
    "Conflict",
    "ConsumerOptions",
    "DependencyUnavailable",
    "Forbidden",
    "Identity",
    "InvalidRequest",
    "MetricsRecorder",
    "NotFound",
    "NotStarted",
    "PayloadTooLarge",
    "ReadinessCheck",
    "ReadinessChecksFactory",
    "ServiceError",
    "ServiceSettings",
    "StartBackground",
    "TooManyRequests",
    "Unauthenticated",
    "UnsupportedMediaType",
    "bucket_check",
    "build_relay",
    "components_of",
    "configure_logging",
    "create_service_app",
    "current_identity",
    "health_router",
    "install_problem_handlers",
    "problem_type",
    "queue_check",
    "run_consumer",
    "run_relay",
    "serve",
    "sign_identity",
    "table_check",
]
