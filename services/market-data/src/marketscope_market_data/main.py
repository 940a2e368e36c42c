"""Wiring of the market-data service, served as ``uvicorn marketscope_market_data.main:app``."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Coroutine, Sequence
from contextlib import asynccontextmanager
from functools import partial
from typing import Any

from fastapi import FastAPI

from marketscope_events import OutboxRelay
from marketscope_events.publishing import SnsPublisher, TopicDirectory
from marketscope_events.timeutil import Clock, utc_now
from marketscope_market_data.api import router
from marketscope_market_data.providers import MarketDataProvider
from marketscope_market_data.refresh.loops import (
    AWS_ERRORS,
    EmbeddedScheduler,
    LiveRefreshLoop,
    QueuePoller,
)
from marketscope_market_data.refresh.schedule import CronSchedule
from marketscope_market_data.runtime import Runtime, build_runtime
from marketscope_market_data.settings import SERVICE, Settings
from marketscope_platform.aws import AwsClients, AwsSettings
from marketscope_servicekit import ReadinessCheck, create_service_app, queue_check, table_check

logger = logging.getLogger(__name__)


def readiness_checks(settings: Settings, aws: AwsClients) -> list[ReadinessCheck]:
    return [table_check(aws, settings.table_name), queue_check(aws, settings.queue_name)]


async def _run_relay(runtime: Runtime, aws: AwsClients, stop: asyncio.Event) -> None:
    # STS answers only once AWS is reachable: the app serves (and caches) meanwhile, and
    # the relay's first pass publishes whatever was appended before it started.
    while not stop.is_set():
        try:
            topics = await TopicDirectory.from_sts(
                await aws.client("sts"), aws.settings.default_region
            )
            break
        except AWS_ERRORS:
            logger.warning("outbox relay waits for STS", exc_info=True)
            await asyncio.sleep(2.0)
    else:
        return
    # Appends wake the relay (notify); the idle pass only catches what a crashed
    # instance left pending, so it need not query the table every second.
    runtime.relay = OutboxRelay(
        runtime.store, SnsPublisher(await aws.client("sns"), topics), idle_interval=5.0
    )
    await runtime.relay.run(stop)


def _tasks(
    runtime: Runtime, aws: AwsClients, stop: asyncio.Event
) -> list[Coroutine[Any, Any, None]]:
    settings = runtime.settings
    emulated = aws.settings.uses_emulator
    jobs: list[Coroutine[Any, Any, None]] = [_run_relay(runtime, aws, stop)]

    async def publish() -> None:
        runtime.notify_relay()

    handler = runtime.refresh_handler(publish)
    if settings.embedded_feature(settings.embedded_scheduler, emulated):
        # On AWS the rule fires itself and a Lambda consumes the queue: neither runs here.
        jobs.append(
            _with_client(
                aws,
                "events",
                lambda events: EmbeddedScheduler(
                    events,
                    rule_name=settings.refresh_rule_name,
                    bus=settings.event_bus_name,
                    schedule=CronSchedule.parse(settings.refresh_schedule),
                ).run(stop),
            )
        )
        jobs.append(
            _with_client(
                aws,
                "sqs",
                lambda sqs: QueuePoller(
                    sqs,
                    settings.queue_name,
                    handler,
                    region=aws.settings.default_region,
                    wait_seconds=settings.poll_wait_seconds,
                ).run(stop),
            )
        )
    if settings.embedded_feature(settings.live_refresh, emulated):
        replay = runtime.replay
        loop = LiveRefreshLoop(
            handler.refresh_watched,
            interval=settings.live_refresh_seconds,
            advance=None if replay is None else replay.clock.advance,
        )
        jobs.append(loop.run(stop))
    return jobs


async def _with_client(aws: AwsClients, name: str, run: Any) -> None:
    await run(await aws.client(name))


def background(
    settings: Settings,
    providers: Sequence[MarketDataProvider] | None,
    clock: Clock,
) -> Any:
    @asynccontextmanager
    async def run(app: FastAPI) -> AsyncIterator[None]:
        aws: AwsClients = app.state.aws
        runtime = await build_runtime(
            settings, aws, app.state.metrics, providers=providers, clock=clock
        )
        app.state.market_data = runtime.service
        app.state.runtime = runtime
        stop = asyncio.Event()
        tasks = [asyncio.create_task(job) for job in _tasks(runtime, aws, stop)]
        try:
            yield
        finally:
            stop.set()
            _, pending = await asyncio.wait(tasks, timeout=3.0)
            for task in pending:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            runtime.close()
            del app.state.market_data, app.state.runtime

    return run


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
        partial(readiness_checks, settings),
        routers=[router],
        aws_settings=aws_settings,
        background=background(settings, providers, clock),
    )


app = create_app()
