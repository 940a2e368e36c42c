"""Settings of the notifier service: ``MARKETSCOPE_NOTIFIER_*`` variables whose defaults run
the embedded stack (AWS endpoint and region are the shared ``AWS_*`` ones)."""

from __future__ import annotations

from ipaddress import ip_network
from typing import Annotated

from pydantic import Field, field_validator
from pydantic_settings import NoDecode, SettingsConfigDict

from marketscope_events.catalog import queue_name
from marketscope_notifier.channels.ssrf import IPNetwork
from marketscope_platform.topology import SERVICES, USER_NOTIFICATIONS_TOPIC
from marketscope_servicekit import ServiceSettings

SERVICE = SERVICES["notifier"]


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix=SERVICE.env_prefix)

    port: int = SERVICE.port
    table_name: str = SERVICE.table
    queue_name: str = queue_name(SERVICE.name)
    # Where e-mail notifications are published (subscriptions filter on the owner).
    user_notifications_topic: str = USER_NOTIFICATIONS_TOPIC
    # Networks a webhook may be sent to although they are not public (tests, laptops):
    # none by default, so loopback, private and metadata addresses are refused.
    webhook_allow_networks: Annotated[list[IPNetwork], NoDecode] = Field(default_factory=list)
    webhook_timeout_seconds: float = Field(default=15.0, gt=0, le=60)
    # The web app's address: links in e-mail, SMS and webhook payloads start with it.
    public_url: str = "http://127.0.0.1:8000"

    @field_validator("webhook_allow_networks", mode="before")
    @classmethod
    def _networks(cls, value: object) -> object:
        if isinstance(value, str):
            value = [item.strip() for item in value.split(",") if item.strip()]
        if isinstance(value, list):
            return [
                ip_network(item, strict=False) if isinstance(item, str) else item for item in value
            ]
        return value
