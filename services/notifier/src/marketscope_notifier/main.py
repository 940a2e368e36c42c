"""Wiring of the notifier service, served as ``uvicorn marketscope_notifier.main:app``."""

from __future__ import annotations

from functools import partial

from fastapi import FastAPI

from marketscope_notifier.api import router
from marketscope_notifier.components import Components, build_components
from marketscope_notifier.settings import SERVICE, Settings
from marketscope_platform.aws import AwsClients, AwsSettings
from marketscope_servicekit import (
    BackgroundTasks,
    ReadinessCheck,
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
        ),
    )


def create_app(
    settings: Settings | None = None, aws_settings: AwsSettings | None = None
) -> FastAPI:
    settings = settings or Settings()
    return create_service_app(
        SERVICE.name,
        settings,
        build=partial(build_components, settings),
        readiness_checks=partial(readiness_checks, settings),
        start=start_background,
        routers=[router],
        aws_settings=aws_settings,
    )


app = create_app()
