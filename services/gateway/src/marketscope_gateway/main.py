"""Wiring of the gateway service, served as ``uvicorn marketscope_gateway.main:app``."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from functools import partial

import httpx
from fastapi import FastAPI

from marketscope_gateway.api import router
from marketscope_gateway.auth.service import AuthService
from marketscope_gateway.auth.signing_key import SigningKey
from marketscope_gateway.auth.throttle import LoginThrottle
from marketscope_gateway.auth.tokens import TokenCodec
from marketscope_gateway.downstream import MarketDataClient, RagClient
from marketscope_gateway.edge import install_edge
from marketscope_gateway.live.feed import LiveFeed, instance_queue_name
from marketscope_gateway.live.handlers import LivePush
from marketscope_gateway.live.hub import Hub
from marketscope_gateway.overview import OverviewComposer
from marketscope_gateway.runtime import Gateway, Started
from marketscope_gateway.settings import SERVICE, Settings
from marketscope_gateway.store import GatewayStore
from marketscope_platform.aws import AwsClients, AwsSettings
from marketscope_servicekit import ReadinessCheck, create_service_app, queue_check, table_check

SHUTDOWN_SECONDS = 10.0
logger = logging.getLogger(__name__)


def readiness_checks(
    settings: Settings, gateway: Gateway, queue_name: str, aws: AwsClients
) -> list[ReadinessCheck]:
    async def signing_key() -> None:
        gateway.signing_key.value  # noqa: B018  # raises until the key is loaded

    async def service(name: str) -> None:
        started = gateway.running
        client = started.market_data if name == "market-data" else started.rag
        await client.healthy()

    return [
        table_check(aws, settings.table_name),
        queue_check(aws, queue_name),
        ReadinessCheck("signing-key", signing_key),
        ReadinessCheck("market-data", partial(service, "market-data")),
        ReadinessCheck("rag", partial(service, "rag")),
    ]


def _http_client(
    app: FastAPI, base_url: str, timeout: float, transport: httpx.AsyncBaseTransport | None
) -> httpx.AsyncClient:
    client = httpx.AsyncClient(
        base_url=base_url,
        timeout=timeout,
        transport=transport,
        limits=httpx.Limits(max_connections=200, max_keepalive_connections=50),
    )
    app.state.tracing.instrument_client(client)  # spans, and traceparent downstream
    return client


def create_app(
    settings: Settings | None = None,
    aws_settings: AwsSettings | None = None,
    *,
    transports: Mapping[str, httpx.AsyncBaseTransport] | None = None,
) -> FastAPI:
    """The gateway app. ``transports`` replaces how a downstream service is reached
    (``"market-data"``, ``"rag"``), e.g. by an in-process ASGI app in tests."""
    settings = settings or Settings()
    transports = transports or {}
    key = settings.jwt_signing_key.get_secret_value() if settings.jwt_signing_key else None
    signing_key = SigningKey(key)
    tokens = TokenCodec(
        signing_key,
        access_ttl_seconds=settings.access_token_minutes * 60,
        refresh_ttl_seconds=settings.refresh_token_days * 86400,
    )
    gateway = Gateway(settings=settings, signing_key=signing_key, tokens=tokens)
    instance_id = settings.instance_id or uuid.uuid4().hex[:12]
    queue_name = instance_queue_name(instance_id)

    @asynccontextmanager
    async def background(app: FastAPI) -> AsyncIterator[None]:
        aws: AwsClients = app.state.aws
        store = GatewayStore(await aws.client("dynamodb"), settings.table_name)
        throttle = LoginThrottle(
            store,
            per_account=settings.login_failures_per_account,
            per_ip=settings.login_failures_per_ip,
            window_seconds=settings.login_failure_window_seconds,
        )
        auth = AuthService(store, tokens, throttle, admin_emails=settings.admin_emails)
        timeout = settings.downstream_timeout
        market_http = _http_client(
            app, settings.market_data_url, timeout, transports.get("market-data")
        )
        rag_http = _http_client(app, settings.rag_url, timeout, transports.get("rag"))
        market_data = MarketDataClient(market_http, app.state.internal_key)
        rag = RagClient(rag_http, app.state.internal_key)
        overview = OverviewComposer(market_data, rag, part_timeout=settings.overview_part_timeout)
        gateway.started = Started(auth=auth, market_data=market_data, rag=rag, overview=overview)

        feed = LiveFeed(
            aws,
            LivePush(gateway.hub, app.state.metrics),
            app.state.metrics,
            instance_id=instance_id,
        )
        app.state.live_feed = feed
        stop = asyncio.Event()
        feeding = asyncio.create_task(feed.run())
        helpers = [asyncio.create_task(gateway.hub.heartbeats(settings.ws_heartbeat_seconds, stop))]
        if not signing_key.loaded:
            secrets = await aws.client("secretsmanager")
            helpers.append(
                asyncio.create_task(signing_key.load_until_loaded(secrets, settings.secret_name))
            )
        try:
            yield
        finally:
            stop.set()
            for helper in helpers:
                helper.cancel()
            if feed.subscription is None:
                feeding.cancel()  # still trying to reach AWS: nothing to finish
            feed.stop()
            # A running consumer returns once its poll in flight (at most 2 s) is done.
            _, pending = await asyncio.wait({feeding}, timeout=SHUTDOWN_SECONDS)
            for task in pending:
                task.cancel()
            await asyncio.gather(feeding, *helpers, return_exceptions=True)
            try:
                async with asyncio.timeout(SHUTDOWN_SECONDS):
                    await feed.remove()
            except Exception:  # shutdown goes on; the queue expires with its retention
                logger.warning("could not remove %s", queue_name, exc_info=True)
            gateway.started = None
            await market_http.aclose()
            await rag_http.aclose()

    app = create_service_app(
        SERVICE.name,
        settings,
        partial(readiness_checks, settings, gateway, queue_name),
        routers=[router],
        aws_settings=aws_settings,
        background=background,
    )
    metrics = app.state.metrics
    gateway.hub = Hub(on_drop=lambda _: metrics.increment("WebSocketSlowClientsDropped"))
    app.state.gateway = gateway
    install_edge(app, settings, tokens)
    return app


app = create_app()
