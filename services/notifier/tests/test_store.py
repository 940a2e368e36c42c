"""The notifier table, through the event store the components open on it (on the emulator)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal

from marketscope_events import CATALOG, Envelope
from marketscope_events.catalog.events import AlertTriggered
from marketscope_notifier.main import create_app
from marketscope_notifier.settings import SERVICE, Settings
from marketscope_servicekit.testing import EventStoreContract


class TestNotifierEventStore(EventStoreContract):
    service = SERVICE
    settings_class = Settings
    create_app = staticmethod(create_app)

    def stream_and_event(self) -> tuple[str, Envelope]:
        alert_id = f"alert-{uuid.uuid4().hex[:12]}"
        event = CATALOG.new_event(
            AlertTriggered(
                alert_id=alert_id,
                owner="user-1",
                symbol="AAPL",
                condition="above",
                threshold=Decimal("200"),
                price=Decimal("201.5"),
                triggered_at=datetime.now(UTC),
            ),
            subject=alert_id,
        )
        return f"Alert#{alert_id}", event
