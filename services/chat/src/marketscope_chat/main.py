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
    MetricsRecorder,
    ReadinessCheck,
    create_service_app,
    queue_check,
    run_relay,
    table_check,
)


def readiness_checks(
    settings: Settings, aws: AwsClients, components: Components
) -> list[ReadinessCheck]:
    return [
        table_check(aws, settings.table_name),
        queue_check(aws, settings.queue_name),
    ]


def start_background(components: Components, tasks: BackgroundTasks) -> None:
    # No consumer yet: see handlers.py.
    tasks.start("outbox-relay", run_relay(components.relay))


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
