"""Settings of the gateway service: ``MARKETSCOPE_GATEWAY_*`` variables whose defaults run
the embedded stack (AWS endpoint and region are the shared ``AWS_*`` ones)."""

from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from marketscope_events.topology import SERVICES
from marketscope_servicekit import ServiceSettings

SERVICE = SERVICES["gateway"]


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
