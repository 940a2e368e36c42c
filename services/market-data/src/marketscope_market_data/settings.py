"""Settings of the market-data service: ``MARKETSCOPE_MARKET_DATA_*`` variables whose defaults run
the embedded stack (AWS endpoint and region are the shared ``AWS_*`` ones)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from pydantic import Field, field_validator
from pydantic_settings import NoDecode, SettingsConfigDict

from marketscope_events.catalog import queue_name
from marketscope_platform.topology import SERVICES
from marketscope_servicekit import ServiceSettings

SERVICE = SERVICES["market-data"]
REFRESH_RULE = "marketscope-scheduled-quote-refresh"
PROVIDER_NAMES = ("replay", "yfinance")

CommaList = Annotated[list[str], NoDecode]


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix=SERVICE.env_prefix)

    port: int = SERVICE.port
    table_name: str = SERVICE.table
    queue_name: str = queue_name(SERVICE.name)

    providers: CommaList = Field(default_factory=lambda: ["replay"], min_length=1)
    provider_timeout: float = Field(default=10.0, gt=0)
    provider_retries: int = Field(default=2, ge=0)
    breaker_threshold: int = Field(default=5, ge=1)
    breaker_reset_seconds: float = Field(default=30.0, gt=0)
    replay_start: date = date(2012, 3, 1)
    quote_ttl_seconds: int = Field(default=300, gt=0)
    history_ttl_seconds: int = Field(default=86_400, gt=0)
    stale_keep_seconds: int = Field(default=7 * 86_400, ge=0)
    memory_cache_size: int = Field(default=10_000, ge=1)
    default_watchlist: CommaList = Field(default_factory=lambda: ["AAPL", "MSFT", "IBM", "GOOG"])
    benchmark_symbol: str = "^GSPC"
    risk_free_rate: float = 0.0
    refresh_rule_name: str = REFRESH_RULE
    refresh_schedule: str = "cron(30 16 ? * MON-FRI *)"
    event_bus_name: str = "default"
    embedded_scheduler: bool | None = None
    live_refresh: bool | None = None
    live_refresh_seconds: float = Field(default=5.0, gt=0)
    poll_wait_seconds: int = Field(default=10, ge=0, le=20)

    @field_validator("providers", "default_watchlist", mode="before")
    @classmethod
    def _split_commas(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("providers")
    @classmethod
    def _known_providers(cls, value: list[str]) -> list[str]:
        unknown = [name for name in value if name not in PROVIDER_NAMES]
        if unknown:
            raise ValueError(f"unknown providers {unknown}; known: {list(PROVIDER_NAMES)}")
        return value

    @field_validator("default_watchlist")
    @classmethod
    def _upper(cls, value: list[str]) -> list[str]:
        return [symbol.upper() for symbol in value]

    def embedded_feature(self, flag: bool | None, uses_emulator: bool) -> bool:
        """An unset switch follows the endpoint: on against an emulator, off on AWS."""
        return uses_emulator if flag is None else flag
