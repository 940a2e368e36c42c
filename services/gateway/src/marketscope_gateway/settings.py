"""Settings of the gateway service: ``MARKETSCOPE_GATEWAY_*`` variables whose defaults run
the embedded stack (AWS endpoint and region are the shared ``AWS_*`` ones)."""

from __future__ import annotations

from limits import parse
from pydantic import Field, SecretStr, field_validator
from pydantic_settings import SettingsConfigDict

from marketscope_platform.topology import SECRET_NAME, SERVICES
from marketscope_servicekit import ServiceSettings

SERVICE = SERVICES["gateway"]
MIB = 1024 * 1024


def _local_url(service: str) -> str:
    return f"http://127.0.0.1:{SERVICES[service].port}"


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix=SERVICE.env_prefix)

    port: int = SERVICE.port
    table_name: str = SERVICE.table
    # Where the gateway reaches the other services over HTTP; compose points these
    # at the containers' names.
    chat_url: str = _local_url("chat")
    market_data_url: str = _local_url("market-data")
    rag_url: str = _local_url("rag")
    notifier_url: str = _local_url("notifier")

    # Tokens. The key comes from Secrets Manager unless this override is set.
    jwt_signing_key: SecretStr | None = None
    secret_name: str = SECRET_NAME
    access_token_minutes: int = Field(default=15, ge=1, le=60)
    refresh_token_days: int = Field(default=14, ge=1, le=90)
    admin_emails: frozenset[str] = frozenset()

    # Login throttling, shared by every instance (auth/throttle.py says how): per
    # account and client address strictly, per account with growing delays, per address.
    login_failures_per_account_address: int = Field(default=5, ge=1)
    login_failures_per_ip: int = Field(default=20, ge=1)
    login_failure_window_seconds: int = Field(default=900, ge=1)
    login_backoff_after_failures: int = Field(default=10, ge=1)
    login_backoff_base_seconds: float = Field(default=1.0, gt=0)
    login_backoff_max_seconds: float = Field(default=30.0, gt=0)
    # Registrations per client address per window (each costs a password hash).
    registrations_per_ip: int = Field(default=5, ge=1)
    registration_window_seconds: int = Field(default=600, ge=1)
    # Password hashes computed at once; unset: the cores less one (at least one).
    password_hashing_concurrency: int | None = Field(default=None, ge=1)

    # Edge protection (per instance).
    rate_limit_per_user: str = "300/minute"
    rate_limit_per_ip: str = "600/minute"
    cors_origins: list[str] = Field(default_factory=list)
    max_body_bytes: int = Field(default=1 * MIB, ge=1024)
    max_upload_bytes: int = Field(default=21 * MIB, ge=1024)

    # Downstream calls.
    downstream_timeout: float = Field(default=10.0, gt=0)
    overview_part_timeout: float = Field(default=3.0, gt=0)
    # A chat answer streams for as long as the model and its tools take: what bounds it
    # is the time without a byte, never the whole answer's.
    chat_idle_timeout: float = Field(default=300.0, gt=0)

    # WebSocket push.
    instance_id: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_-]{1,40}$")
    ws_buffer_messages: int = Field(default=256, ge=1)
    ws_heartbeat_seconds: float = Field(default=20.0, gt=0)
    ws_auth_timeout: float = Field(default=5.0, gt=0)
    ws_max_subscriptions: int = Field(default=100, ge=1)
    ws_max_connections_per_user: int = Field(default=10, ge=1)
    # How often an open socket re-reads its session from the table, which is how a
    # logout on another instance reaches it (on this instance it closes at once).
    ws_session_check_seconds: float = Field(default=20.0, gt=0)

    # The ops API: how long one service's /readyz may take, how many recent warnings and
    # errors the gateway keeps.
    ops_check_timeout: float = Field(default=3.0, gt=0)
    ops_recent_errors: int = Field(default=100, ge=1, le=10_000)

    @field_validator("rate_limit_per_user", "rate_limit_per_ip")
    @classmethod
    def _rate_limit_notation(cls, value: str) -> str:
        parse(value)  # "300/minute", "10/second", "1000 per hour": limits' notation
        return value
