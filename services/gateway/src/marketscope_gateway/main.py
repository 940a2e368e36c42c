"""Wiring of the gateway service, served as ``uvicorn marketscope_gateway.main:app``."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from functools import partial

import httpx
from fastapi import FastAPI

from marketscope_events import InMemoryIdempotencyStore
from marketscope_gateway.api import router
from marketscope_gateway.auth.signing_key import SigningKey
from marketscope_gateway.auth.tokens import TokenCodec
from marketscope_gateway.components import Components, build_components
from marketscope_gateway.edge import edge_statuses, install_edge
from marketscope_gateway.live.upkeep import queue_upkeep_job
from marketscope_gateway.ops.recent_errors import RecentErrors, capture_recent_errors
from marketscope_gateway.settings import SERVICE, Settings
from marketscope_gateway.web import install_web
from marketscope_platform.aws import AwsClients, AwsSettings
from marketscope_servicekit import (
    BackgroundJob,
    BackgroundTasks,
    ConsumerOptions,
    MetricsRecorder,
    ReadinessCheck,
    create_service_app,
    queue_check,
    run_consumer,
    table_check,
)

# Long polls return at once when a message arrives; a short one only bounds shutdown.
POLL_SECONDS = 2
RECENT_EVENTS = 50_000


def readiness_checks(aws: AwsClients, components: Components) -> list[ReadinessCheck]:
    async def signing_key() -> None:
        components.signing_key.value  # noqa: B018  # raises until the key is loaded

    return [
        table_check(aws, components.settings.table_name),
        queue_check(aws, components.live_feed.queue_name),
        ReadinessCheck("signing-key", signing_key),
        ReadinessCheck("market-data", components.market_data.healthy),
        ReadinessCheck("rag", components.rag.healthy),
        ReadinessCheck("chat", components.chat.healthy),
    ]


def load_signing_key(components: Components) -> BackgroundJob:
    """Reads the key from Secrets Manager once; a failure (not provisioned yet, AWS not
    answering) raises, and the job is retried with backoff."""

    async def job(_stop: asyncio.Event) -> None:
        await components.signing_key.load(
            components.secretsmanager, components.settings.secret_name
        )

    return job


def start_background(
    components: Components, tasks: BackgroundTasks, recent_errors: RecentErrors | None = None
) -> None:
    settings = components.settings
    if recent_errors is not None:
        tasks.start("recent-errors", capture_recent_errors(recent_errors))
    tasks.start(
        "live-feed",
        run_consumer(
            components.aws,
            service=components.live_feed.consumer_name,
            queue=components.live_feed.subscribe,
            table_name=settings.table_name,
            metrics=components.metrics,
            register=components.live_push.register,
            options=ConsumerOptions(wait_time_seconds=POLL_SECONDS),
            # The queue lives as long as this process: so may its record of what it
            # pushed (SQS, and the emulator, occasionally deliver a message twice).
            idempotency=InMemoryIdempotencyStore(capacity=RECENT_EVENTS),
        ),
    )
    tasks.start(
        "instance-queue-upkeep",
        queue_upkeep_job(components.live_feed, components.live_feed.upkeep()),
    )
    tasks.start("heartbeats", partial(components.hub.heartbeats, settings.ws_heartbeat_seconds))
    if not components.signing_key.loaded:
        tasks.start("signing-key", load_signing_key(components))


def create_app(
    settings: Settings | None = None,
    aws_settings: AwsSettings | None = None,
    *,
    transports: Mapping[str, httpx.AsyncBaseTransport] | None = None,
) -> FastAPI:
    """The gateway app. ``transports`` replaces how a downstream service is reached
    (``"market-data"``, ``"rag"``, ``"chat"``, ``"notifier"``), e.g. by an in-process ASGI
    app in tests."""
    settings = settings or Settings()
    key = settings.jwt_signing_key.get_secret_value() if settings.jwt_signing_key else None
    # Before the lifespan: the edge middleware reads tokens from the first request on.
    signing_key = SigningKey(key)
    tokens = TokenCodec(
        signing_key,
        access_ttl_seconds=settings.access_token_minutes * 60,
        refresh_ttl_seconds=settings.refresh_token_days * 86400,
    )

    # The ops API's recent warnings and errors, recorded from start-up to shutdown.
    recent_errors = RecentErrors(settings.ops_recent_errors)

    async def build(aws: AwsClients, metrics: MetricsRecorder) -> Components:
        # The app's tracing and internal key exist once create_service_app made the app.
        return await build_components(
            settings,
            aws,
            metrics,
            app.state.tracing,
            internal_key=app.state.internal_key,
            signing_key=signing_key,
            tokens=tokens,
            transports=transports,
        )

    app = create_service_app(
        SERVICE.name,
        settings,
        build=build,
        readiness_checks=readiness_checks,
        start=partial(start_background, recent_errors=recent_errors),
        routers=[router],
        signed_identity=False,  # the gateway authenticates users itself (JWT)
        problem_statuses=edge_statuses,
        aws_settings=aws_settings,
    )
    app.state.recent_errors = recent_errors
    install_edge(app, settings, tokens)
    install_web(app)
    return app


app = create_app()
