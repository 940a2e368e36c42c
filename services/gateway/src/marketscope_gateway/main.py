"""Wiring of the gateway service, served as ``uvicorn marketscope_gateway.main:app``."""

from __future__ import annotations

from functools import partial

from fastapi import FastAPI

from marketscope_events.aws import AwsClients, AwsSettings
from marketscope_gateway.api import router
from marketscope_gateway.settings import SERVICE, Settings
from marketscope_servicekit import ReadinessCheck, create_service_app, table_check


def readiness_checks(settings: Settings, aws: AwsClients) -> list[ReadinessCheck]:
    # Each gateway instance makes its own queue at start, so there is none to probe yet.
    return [table_check(aws, settings.table_name)]


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
