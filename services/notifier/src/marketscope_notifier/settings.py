"""Settings of the notifier service: ``MARKETSCOPE_NOTIFIER_*`` variables whose defaults run
the embedded stack (AWS endpoint and region are the shared ``AWS_*`` ones)."""

from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from marketscope_events.catalog import queue_name
from marketscope_platform.topology import SERVICES
from marketscope_servicekit import ServiceSettings

SERVICE = SERVICES["notifier"]


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix=SERVICE.env_prefix)

    port: int = SERVICE.port
    table_name: str = SERVICE.table
    queue_name: str = queue_name(SERVICE.name)
