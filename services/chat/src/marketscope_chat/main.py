"""Wiring of the chat service, served as ``uvicorn marketscope_chat.main:app``."""

from __future__ import annotations

from functools import partial

from fastapi import FastAPI

from marketscope_chat.api import router
from marketscope_chat.settings import SERVICE, Settings
from marketscope_platform.aws import AwsClients, AwsSettings
from marketscope_servicekit import ReadinessCheck, create_service_app, queue_check, table_check


def readiness_checks(settings: Settings, aws: AwsClients) -> list[ReadinessCheck]:
    return [
        table_check(aws, settings.table_name),
        queue_check(aws, settings.queue_name),
    ]


def create_app(
    settings: Settings | None = None, aws_settings: AwsSettings | None = None
) -> FastAPI:
    settings = settings or Settings()
    return create_service_app(
        SERVICE.name,
        settings,
        partial(readiness_checks, settings),
        routers=[router],
        aws_settings=aws_settings,
    )


app = create_app()
