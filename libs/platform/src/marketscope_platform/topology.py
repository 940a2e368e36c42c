"""The five services: port, ASGI app, owned resources. One registry for the CLI, the
provisioning, docker-compose checks and the services' own settings."""

from __future__ import annotations

from dataclasses import dataclass

from marketscope_events.catalog import CATALOG, dlq_name, queue_name, table_name

DOCUMENTS_BUCKET = "marketscope-documents"
OPS_TOPIC = "marketscope-ops-alerts"
# The notifier publishes users' e-mail notifications here; each e-mail subscription
# filters on the owner (and channel) message attributes.
USER_NOTIFICATIONS_TOPIC = "marketscope-user-notifications"
SECRET_NAME = "marketscope/secrets"


def log_group_name(service: str) -> str:
    """The CloudWatch Logs group a service's instances ship their lines to."""
    return f"/marketscope/{service}"


@dataclass(frozen=True)
class ServiceInfo:
    name: str
    port: int
    # Feeds outside the event catalog that also need the service's queue.
    external_feeds: tuple[str, ...] = ()
    # The services it calls over HTTP: it has a ``<NAME>_URL`` setting for each.
    calls: tuple[str, ...] = ()
    # Its own prefix in the documents bucket, when it keeps objects there.
    bucket_prefix: str | None = None
    # The keys of the shared secret it reads at start.
    secret_keys: tuple[str, ...] = ()

    def own_prefix(self) -> str:
        """Its prefix in the documents bucket; only for a service that keeps objects there."""
        if self.bucket_prefix is None:
            raise ValueError(f"{self.name} keeps no objects in the documents bucket")
        return self.bucket_prefix

    @property
    def module(self) -> str:
        return "marketscope_" + self.name.replace("-", "_")

    @property
    def app(self) -> str:
        """The ASGI app uvicorn serves: ``<module>.main:app``."""
        return f"{self.module}.main:app"

    @property
    def env_prefix(self) -> str:
        return "MARKETSCOPE_" + self.name.replace("-", "_").upper() + "_"

    @property
    def table(self) -> str:
        return table_name(self.name)

    @property
    def queue(self) -> str | None:
        """Its SQS queue, when it has events or commands to consume."""
        consumes = CATALOG.subscriptions_of(self.name) or self.external_feeds
        return queue_name(self.name) if consumes else None

    @property
    def dlq(self) -> str | None:
        return dlq_name(self.name) if self.queue else None

    @property
    def per_instance_queue(self) -> bool:
        """Each instance needs every event (WebSocket push): one queue per instance."""
        return self.name == "gateway"


SERVICES: dict[str, ServiceInfo] = {
    info.name: info
    for info in (
        ServiceInfo(
            "gateway",
            8000,
            calls=("chat", "market-data", "rag", "notifier"),
            secret_keys=("jwt_signing_key",),
        ),
        ServiceInfo(
            "chat",
            8001,
            calls=("market-data", "rag"),
            bucket_prefix="chat/",
            secret_keys=("openai_api_key",),
        ),
        ServiceInfo("market-data", 8002, external_feeds=("scheduled quote refresh rule",)),
        ServiceInfo("rag", 8003, bucket_prefix="rag/"),
        ServiceInfo("notifier", 8004, external_feeds=("ops alerts topic",)),
    )
}
