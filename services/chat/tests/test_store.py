"""The chat table, through the event store the components open on it (on the emulator)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from marketscope_chat.main import create_app
from marketscope_chat.settings import SERVICE, Settings
from marketscope_events import CATALOG, Envelope
from marketscope_events.catalog.events import AnalysisRequested
from marketscope_servicekit.testing import EventStoreContract


class TestChatEventStore(EventStoreContract):
    service = SERVICE
    settings_class = Settings
    create_app = staticmethod(create_app)

    def stream_and_event(self) -> tuple[str, Envelope]:
        analysis_id = f"analysis-{uuid.uuid4().hex[:12]}"
        event = CATALOG.new_event(
            AnalysisRequested(
                analysis_id=analysis_id,
                owner="user-1",
                kind="stock",
                symbols=["AAPL"],
                requested_at=datetime.now(UTC),
            ),
            subject=analysis_id,
        )
        return f"Analysis#{analysis_id}", event
