"""Builds the service's parts from its settings and AWS clients: the same wiring serves
the HTTP app (main.py) and the Lambda entry point (refresh/lambda_function.py)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from marketscope_events import DynamoDBEventStore, OutboxRelay
from marketscope_events.timeutil import Clock, utc_now
from marketscope_market_data.cache import TieredCache
from marketscope_market_data.providers import MarketDataProvider, ProviderChain
from marketscope_market_data.providers.replay import ReplayProvider
from marketscope_market_data.providers.resilience import ProviderGuard
from marketscope_market_data.providers.yfinance import YFinanceProvider
from marketscope_market_data.quotes import QuoteProjection, QuoteRecorder
from marketscope_market_data.refresh.handler import Publish, RefreshHandler
from marketscope_market_data.service import CachePolicy, MarketDataService
from marketscope_market_data.settings import Settings
from marketscope_market_data.store import CacheItemStore, WatchlistRepository
from marketscope_platform.aws import AwsClients
from marketscope_servicekit import MetricsRecorder


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
class Runtime:
    settings: Settings
    store: DynamoDBEventStore
    service: MarketDataService
    metrics: MetricsRecorder
    relay: OutboxRelay | None = field(default=None)

    @property
    def replay(self) -> ReplayProvider | None:
        return next(
            (p for p in self.service.chain.providers if isinstance(p, ReplayProvider)), None
        )

    def notify_relay(self) -> None:
        if self.relay is not None:
            self.relay.notify()

    def refresh_handler(self, publish: Publish) -> RefreshHandler:
        return RefreshHandler(
            self.service, self.metrics, rule_name=self.settings.refresh_rule_name, publish=publish
        )

    def close(self) -> None:
        for provider in self.service.chain.providers:
            if isinstance(provider, YFinanceProvider):
                provider.close()


async def build_runtime(
    settings: Settings,
    aws: AwsClients,
    metrics: MetricsRecorder,
    *,
    providers: Sequence[MarketDataProvider] | None = None,
    clock: Clock = utc_now,
) -> Runtime:
    dynamodb = await aws.client("dynamodb")
    store = DynamoDBEventStore(dynamodb, settings.table_name, clock=clock)
    cache = TieredCache(
        CacheItemStore(dynamodb, settings.table_name, clock),
        metrics,
        max_items=settings.memory_cache_size,
        stale_keep_seconds=settings.stale_keep_seconds,
        clock=clock,
    )
    runtime: Runtime
    recorder = QuoteRecorder(store, QuoteProjection())
    service = MarketDataService(
        ProviderChain(list(providers) if providers else build_providers(settings), metrics),
        cache,
        recorder,
        WatchlistRepository(dynamodb, settings.table_name, clock=clock),
        CachePolicy(settings.quote_ttl_seconds, settings.history_ttl_seconds),
        benchmark=settings.benchmark_symbol,
        risk_free_rate=settings.risk_free_rate,
        default_watchlist=settings.default_watchlist,
    )
    runtime = Runtime(settings, store, service, metrics)
    return runtime
