"""The notifier table, through the event store the components open on it (on the emulator)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from marketscope_events import CATALOG, Envelope
from marketscope_events.catalog.events import NotificationCreated
from marketscope_notifier.main import create_app
from marketscope_notifier.settings import SERVICE, Settings
from marketscope_servicekit.testing import EventStoreContract


class TestNotifierEventStore(EventStoreContract):
    service = SERVICE
    settings_class = Settings
    create_app = staticmethod(create_app)

    def settings(self) -> Settings:
        # NotificationCreated's one subscriber with a provisioned queue is the notifier
        # itself: its own consumer reads another queue here, so the test finds the event
        # on the service's queue instead of racing the app for it.
        return Settings(queue_name="marketscope-notifier-contract-unread")

    def stream_and_event(self) -> tuple[str, Envelope]:
        notification_id = f"ntf_{uuid.uuid4().hex}"
        event = CATALOG.new_event(
            NotificationCreated(
                notification_id=notification_id,
                owner="user-1",
                kind="alert",
                title="AAPL is above 200.00",
                body="AAPL: price is above 200.00 (at 201.50).",
                created_at=datetime.now(UTC),
            ),
            subject=notification_id,
        )
        return f"Notification#{notification_id}", event
