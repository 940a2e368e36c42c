"""The market-data app, served as ``uvicorn marketscope_market_data.main:app``, and the
background jobs it starts."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from functools import partial

from fastapi import FastAPI

from marketscope_events.timeutil import Clock, utc_now
from marketscope_market_data.api import router
from marketscope_market_data.components import Components, build_components
from marketscope_market_data.providers import MarketDataProvider
from marketscope_market_data.refresh.embedded import EmbeddedScheduler, LiveRefreshLoop
from marketscope_market_data.refresh.schedule import CronSchedule
from marketscope_market_data.settings import SERVICE, Settings
from marketscope_platform.aws import AwsClients, AwsSettings
from marketscope_servicekit import (
    BackgroundJob,
    BackgroundTasks,
    ConsumerOptions,
    ReadinessCheck,
    create_service_app,
    queue_check,
    run_consumer,
    run_relay,
    table_check,
)


def readiness_checks(
    settings: Settings, aws: AwsClients, _components: Components
) -> list[ReadinessCheck]:
    return [table_check(aws, settings.table_name), queue_check(aws, settings.queue_name)]


def embedded_scheduler(components: Components) -> BackgroundJob:
    settings = components.settings

    async def job(stop: asyncio.Event) -> None:
        scheduler = EmbeddedScheduler(
            await components.aws.client("events"),
            rule_name=settings.refresh_rule_name,
            bus=settings.event_bus_name,
            schedule=CronSchedule.parse(settings.refresh_schedule),
        )
        await scheduler.run(stop)

    return job


def start_background(components: Components, tasks: BackgroundTasks) -> None:
    settings, aws = components.settings, components.aws
    emulated = aws.settings.uses_emulator
    tasks.start("outbox-relay", run_relay(components.relay))
    if settings.embedded_feature(settings.embedded_scheduler, emulated):
        # On AWS the rule fires itself and a Lambda consumes the queue: neither runs here.
        tasks.start("scheduler", embedded_scheduler(components))
        tasks.start(
            "consumer",
            run_consumer(
                aws,
                service=SERVICE.name,
                queue=settings.queue_name,
                table_name=settings.table_name,
                metrics=components.metrics,
                register=components.handlers.register,
                options=ConsumerOptions(wait_time_seconds=settings.poll_wait_seconds),
            ),
        )
    if settings.embedded_feature(settings.live_refresh, emulated):
        replay = components.replay
        live = LiveRefreshLoop(
            components.handlers.refresh_watched,
            interval=settings.live_refresh_seconds,
            advance=None if replay is None else replay.clock.advance,
        )
        tasks.start("live-refresh", live.run)


def create_app(
    settings: Settings | None = None,
    aws_settings: AwsSettings | None = None,
    *,
    providers: Sequence[MarketDataProvider] | None = None,
    clock: Clock = utc_now,
) -> FastAPI:
    """The app; ``providers`` replaces the configured chain (tests, benchmarks)."""
    settings = settings or Settings()
    return create_service_app(
        SERVICE.name,
        settings,
        build=partial(build_components, settings, providers=providers, clock=clock),
        readiness_checks=partial(readiness_checks, settings),
        start=start_background,
        routers=[router],
        aws_settings=aws_settings,
    )


app = create_app()
