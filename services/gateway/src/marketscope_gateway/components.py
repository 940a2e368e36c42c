"""The gateway's object graph, built once per app lifetime.

The signing key and the token codec exist before it (the edge middleware reads tokens
from the first request on), so `create_app` makes them and hands them in; everything else
needs the app's AWS clients, metrics and tracing. Building makes no AWS call: the clients
connect on first use, and the instance queue is made when its consumer starts.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import httpx

from marketscope_gateway.auth.api_keys import ApiKeys
from marketscope_gateway.auth.passwords import Passwords
from marketscope_gateway.auth.service import AuthService
from marketscope_gateway.auth.signing_key import SigningKey
from marketscope_gateway.auth.throttle import LoginBackoff, LoginThrottle, RegistrationThrottle
from marketscope_gateway.auth.tokens import TokenCodec
from marketscope_gateway.downstream import ChatClient, MarketDataClient, NotifierClient, RagClient
from marketscope_gateway.downstream.http_client import ServiceHttpClient
from marketscope_gateway.downstream.transport import PooledTransport
from marketscope_gateway.handlers import LivePush
from marketscope_gateway.live.feed import LiveFeed
from marketscope_gateway.live.hub import Hub
from marketscope_gateway.service import OverviewComposer
from marketscope_gateway.settings import Settings
from marketscope_gateway.store import GatewayStore
from marketscope_platform.aws import AwsClients
from marketscope_servicekit import MetricsRecorder
from marketscope_servicekit.calls import caller_limits
from marketscope_servicekit.tracing import Tracing

if TYPE_CHECKING:
    from types_aiobotocore_secretsmanager import SecretsManagerClient

# How long shutdown waits for the instance queue to be deleted before leaving it to expire.
QUEUE_REMOVAL_SECONDS = 10.0
# Per downstream service: requests in flight at once, idle connections kept for the next.
DOWNSTREAM_CONNECTIONS = 200
DOWNSTREAM_IDLE_CONNECTIONS = 50

logger = logging.getLogger(__name__)


@dataclass
class Components:
    settings: Settings
    aws: AwsClients
    metrics: MetricsRecorder
    signing_key: SigningKey
    tokens: TokenCodec
    secretsmanager: SecretsManagerClient
    store: GatewayStore
    auth: AuthService
    api_keys: ApiKeys
    market_data: MarketDataClient
    rag: RagClient
    chat: ChatClient
    notifier: NotifierClient
    overview: OverviewComposer
    hub: Hub
    live_feed: LiveFeed
    live_push: LivePush

    async def aclose(self) -> None:
        """After the background jobs stopped: remove this instance's queue, close the
        downstream HTTP clients."""
        try:
            async with asyncio.timeout(QUEUE_REMOVAL_SECONDS):
                await self.live_feed.remove()
        except Exception:  # shutdown goes on; the queue expires with its retention
            logger.warning("could not remove %s", self.live_feed.queue_name, exc_info=True)
        await self.market_data.http.aclose()
        await self.rag.http.aclose()
        await self.chat.http.aclose()
        await self.notifier.http.aclose()


def _http_client(
    base_url: str, timeout: float, transport: httpx.AsyncBaseTransport | None, tracing: Tracing
) -> httpx.AsyncClient:
    """One client per service for the app's lifetime, keeping no cookie: up to
    ``DOWNSTREAM_CONNECTIONS`` requests in flight on kept-alive HTTP/1.1 connections
    (aiohttp's pool, `PooledTransport`, unless a test hands in its own transport)."""
    limits = caller_limits(
        max_connections=DOWNSTREAM_CONNECTIONS, max_keepalive=DOWNSTREAM_IDLE_CONNECTIONS
    )
    client = ServiceHttpClient(
        base_url=base_url,
        timeout=timeout,
        transport=transport or PooledTransport(limits),
        limits=limits,
    )
    tracing.instrument_client(client)  # spans, and traceparent downstream
    return client


async def build_components(
    settings: Settings,
    aws: AwsClients,
    metrics: MetricsRecorder,
    tracing: Tracing,
    *,
    internal_key: str,
    signing_key: SigningKey,
    tokens: TokenCodec,
    transports: Mapping[str, httpx.AsyncBaseTransport] | None = None,
) -> Components:
    """``internal_key`` signs the callers' identity to the services; ``transports``
    replaces how a downstream service is reached (``"market-data"``, ``"rag"``,
    ``"chat"``, ``"notifier"``), e.g. by an in-process ASGI app in tests."""
    transports = transports or {}
    store = GatewayStore(await aws.client("dynamodb"), settings.table_name)
    throttle = LoginThrottle(
        store,
        per_account_address=settings.login_failures_per_account_address,
        per_address=settings.login_failures_per_ip,
        backoff=LoginBackoff(
            after=settings.login_backoff_after_failures,
            base_seconds=settings.login_backoff_base_seconds,
            max_seconds=settings.login_backoff_max_seconds,
        ),
        window_seconds=settings.login_failure_window_seconds,
    )
    registrations = RegistrationThrottle(
        store,
        per_address=settings.registrations_per_ip,
        window_seconds=settings.registration_window_seconds,
    )
    timeout = settings.downstream_timeout
    market_data = MarketDataClient(
        _http_client(settings.market_data_url, timeout, transports.get("market-data"), tracing),
        internal_key,
    )
    rag = RagClient(
        _http_client(settings.rag_url, timeout, transports.get("rag"), tracing), internal_key
    )
    chat = ChatClient(
        _http_client(settings.chat_url, timeout, transports.get("chat"), tracing),
        internal_key,
        connect_timeout=timeout,
        idle_timeout=settings.chat_idle_timeout,
    )
    notifier = NotifierClient(
        _http_client(settings.notifier_url, timeout, transports.get("notifier"), tracing),
        internal_key,
    )
    hub = Hub(on_drop=lambda _: metrics.increment("WebSocketSlowClientsDropped"))
    live_feed = LiveFeed(
        await aws.client("sns"),
        await aws.client("sqs"),
        await aws.client("sts"),
        region=aws.settings.default_region,
        instance_id=settings.instance_id or uuid.uuid4().hex[:12],
    )
    return Components(
        settings=settings,
        aws=aws,
        metrics=metrics,
        signing_key=signing_key,
        tokens=tokens,
        secretsmanager=await aws.client("secretsmanager"),
        store=store,
        auth=AuthService(
            store,
            tokens,
            throttle,
            registrations,
            passwords=Passwords(concurrency=settings.password_hashing_concurrency),
            admin_emails=settings.admin_emails,
            on_session_ended=hub.end_session,  # its sockets on this instance close at once
        ),
        api_keys=ApiKeys(store),
        market_data=market_data,
        rag=rag,
        chat=chat,
        notifier=notifier,
        overview=OverviewComposer(market_data, rag, part_timeout=settings.overview_part_timeout),
        hub=hub,
        live_feed=live_feed,
        live_push=LivePush(hub, metrics),
    )
