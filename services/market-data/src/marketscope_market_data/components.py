"""The service's object graph, built from its settings and AWS clients: the same wiring
serves the HTTP app (main.py) and the Lambda entry point (refresh/lambda_function.py).
Building makes no AWS call (clients connect on first use)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from marketscope_events import DynamoDBEventStore, OutboxRelay
from marketscope_events.timeutil import Clock, utc_now
from marketscope_market_data.cache import TieredCache
from marketscope_market_data.handlers import RefreshHandlers
from marketscope_market_data.providers import MarketDataProvider, ProviderChain
from marketscope_market_data.providers.replay import ReplayProvider
from marketscope_market_data.providers.resilience import ProviderGuard
from marketscope_market_data.providers.yfinance import YFinanceProvider
from marketscope_market_data.service import CachePolicy, MarketDataService
from marketscope_market_data.settings import Settings
from marketscope_market_data.store import (
    CacheItemStore,
    QuoteProjection,
    QuoteRecorder,
    WatchlistRepository,
)
from marketscope_platform.aws import AwsClients
from marketscope_servicekit import MetricsRecorder, build_relay


def build_providers(settings: Settings) -> list[MarketDataProvider]:
    providers: list[MarketDataProvider] = []
    for name in settings.providers:
        if name == "replay":
            providers.append(ReplayProvider.from_package_data(settings.replay_start))
        else:
            guard = ProviderGuard(
                "yfinance",
                timeout=settings.provider_timeout,
                retries=settings.provider_retries,
                breaker_threshold=settings.breaker_threshold,
                breaker_reset_seconds=settings.breaker_reset_seconds,
            )
            providers.append(YFinanceProvider(guard))
    return providers


@dataclass
class Components:
    settings: Settings
    aws: AwsClients
    metrics: MetricsRecorder
    store: DynamoDBEventStore
    relay: OutboxRelay
    service: MarketDataService
    handlers: RefreshHandlers

    @property
    def replay(self) -> ReplayProvider | None:
        """The replay provider of the chain, whose clock the live refresh advances."""
        return next(
            (p for p in self.service.chain.providers if isinstance(p, ReplayProvider)), None
        )

    async def aclose(self) -> None:
        for provider in self.service.chain.providers:
            if isinstance(provider, YFinanceProvider):
                provider.close()


async def build_components(
    settings: Settings,
    aws: AwsClients,
    metrics: MetricsRecorder,
    *,
    providers: Sequence[MarketDataProvider] | None = None,
    clock: Clock = utc_now,
) -> Components:
    """``providers`` replaces the configured chain (tests, benchmarks)."""
    dynamodb = await aws.client("dynamodb")
    store = DynamoDBEventStore(dynamodb, settings.table_name, clock=clock)
    cache = TieredCache(
        CacheItemStore(dynamodb, settings.table_name, clock),
        metrics,
        max_items=settings.memory_cache_size,
        stale_keep_seconds=settings.stale_keep_seconds,
        clock=clock,
    )
    service = MarketDataService(
        ProviderChain(list(providers) if providers else build_providers(settings), metrics),
        cache,
        QuoteRecorder(store, QuoteProjection()),
        WatchlistRepository(dynamodb, settings.table_name, clock=clock),
        CachePolicy(settings.quote_ttl_seconds, settings.history_ttl_seconds),
        benchmark=settings.benchmark_symbol,
        risk_free_rate=settings.risk_free_rate,
        default_watchlist=settings.default_watchlist,
    )
    return Components(
        settings=settings,
        aws=aws,
        metrics=metrics,
        store=store,
        relay=await build_relay(aws, store),
        service=service,
        handlers=RefreshHandlers(service, metrics, rule_name=settings.refresh_rule_name),
    )
