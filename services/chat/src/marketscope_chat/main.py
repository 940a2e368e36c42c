"""Wiring of the chat service, served as ``uvicorn marketscope_chat.main:app``."""

from __future__ import annotations

from collections.abc import Mapping

import httpx
from fastapi import FastAPI

from marketscope_chat.api import router
from marketscope_chat.components import Components, build_components
from marketscope_chat.settings import SERVICE, Settings
from marketscope_platform.aws import AwsClients, AwsSettings
from marketscope_servicekit import (
    BackgroundTasks,
    ConsumerOptions,
    MetricsRecorder,
    ReadinessCheck,
    bucket_check,
    create_service_app,
    queue_check,
    run_consumer,
    run_relay,
    table_check,
)


def readiness_checks(
    settings: Settings, aws: AwsClients, components: Components
) -> list[ReadinessCheck]:
    return [
        table_check(aws, settings.table_name),
        queue_check(aws, settings.queue_name),
        bucket_check(aws, settings.reports_bucket, settings.reports_prefix),
    ]


def start_background(components: Components, tasks: BackgroundTasks) -> None:
    settings = components.settings
    tasks.start("outbox-relay", run_relay(components.relay))
    tasks.start(
        "consumer",
        run_consumer(
            components.aws,
            service=SERVICE.name,
            queue=settings.queue_name,
            table_name=settings.table_name,
            metrics=components.metrics,
            register=components.handlers.register,
            options=ConsumerOptions(
                # Jobs are few and long: a batch is what the worker runs at once.
                batch_size=min(settings.analysis_concurrency, 10),
                concurrency=settings.analysis_concurrency,
                visibility_timeout=settings.analysis_visibility_seconds,
                claim_seconds=settings.analysis_claim_seconds,
            ),
        ),
    )


def create_app(
    settings: Settings | None = None,
    aws_settings: AwsSettings | None = None,
    *,
    transports: Mapping[str, httpx.AsyncBaseTransport] | None = None,
) -> FastAPI:
    """The app. ``transports`` replaces how market-data, rag or the LLM (``"llm"``) are
    reached, e.g. by in-process ASGI apps in tests."""
    settings = settings or Settings()

    async def build(aws: AwsClients, metrics: MetricsRecorder) -> Components:
        # The app's tracing and internal key exist once create_service_app made the app.
        return await build_components(
            settings,
            aws,
            metrics,
            app.state.tracing,
            internal_key=app.state.internal_key,
            transports=transports,
        )

    def checks(aws: AwsClients, components: Components) -> list[ReadinessCheck]:
        return readiness_checks(settings, aws, components)

    app = create_service_app(
        SERVICE.name,
        settings,
        build=build,
        readiness_checks=checks,
        start=start_background,
        routers=[router],
        aws_settings=aws_settings,
    )
    return app


app = create_app()
