"""The settings every service has. Each service subclasses ``ServiceSettings`` once, with
its own env prefix (``MARKETSCOPE_<SERVICE>_``) and defaults that run the embedded stack
with no environment variables at all. AWS settings are not here: they are the shared
``AWS_ENDPOINT_URL``/``AWS_DEFAULT_REGION`` of ``marketscope_platform.aws.AwsSettings``.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from marketscope_servicekit.sampling import (
    DEFAULT_RATE,
    DEFAULT_RESERVOIR,
    check_rules,
    xray_rules,
)
from marketscope_servicekit.trace_keeping import DEFAULT_SLOW_SECONDS

LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]


class ServiceSettings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore")

    # Loopback by default: the embedded stack is a laptop setup; containers set 0.0.0.0.
    host: str = "127.0.0.1"
    port: int = Field(ge=1, le=65535)
    log_level: LogLevel = "INFO"
    table_name: str
    readiness_timeout: float = Field(default=2.0, gt=0, description="Seconds per check")
    readiness_grace_seconds: float = Field(
        default=30.0, ge=0, description="After start, failed readiness checks log at DEBUG"
    )
    ship_logs: bool = Field(default=True, description="Send log lines to CloudWatch Logs")
    log_buffer_lines: int = Field(
        default=10_000, ge=100, description="Lines waiting to ship; beyond, new lines drop"
    )
    # Addresses (or networks) of the proxies whose X-Forwarded-For/-Proto are believed.
    # None by default: otherwise any local process could claim any client address.
    trusted_proxies: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # X-Ray's default sampling rule unless told otherwise (`sampling`).
    trace_sampling_reservoir: int = Field(
        default=DEFAULT_RESERVOIR, ge=0, description="Traces sampled each second first"
    )
    trace_sampling_rate: float = Field(
        default=DEFAULT_RATE, ge=0, le=1, description="Then this fraction of the others"
    )
    trace_sampling_rules: dict[str, Any] | None = Field(
        default=None, description="An X-Ray SDK local rules document (JSON); replaces both"
    )
    trace_slow_request_seconds: float = Field(
        default=DEFAULT_SLOW_SECONDS, gt=0, description="Unsampled requests this slow are sent"
    )

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_case_level(cls, value: object) -> object:
        # uvicorn and most tooling spell levels in lower case; accept both.
        return value.upper() if isinstance(value, str) else value

    @field_validator("trace_sampling_rules")
    @classmethod
    def _loadable_rules(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        # Refused at start, with the SDK's reason (`InvalidSamplingRules` is a
        # ValueError), rather than at the first request.
        if value is not None:
            check_rules(value)
        return value

    def sampling_rules(self) -> dict[str, Any]:
        """The X-Ray rules the service samples new traces with."""
        if self.trace_sampling_rules is not None:
            return self.trace_sampling_rules
        return xray_rules(rate=self.trace_sampling_rate, reservoir=self.trace_sampling_reservoir)

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        # ``10.0.0.5,10.0.1.0/24`` in the environment, as uvicorn's own option reads.
        if isinstance(value, str):
            return [item.strip() for item in value.split(",") if item.strip()]
        return value
