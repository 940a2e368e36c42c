"""Notifications about what other services did: an analysis completed or failed, a
document indexed. Each becomes a NotificationCreated in its own ``Notification#<id>``
stream (through the outbox, so the gateway pushes it to the owner's sockets) and an entry
in the owner's inbox.

The notification id is made from the source event's id and time, so a redelivered event
names the same notification: its stream already exists (the append is refused) and the
inbox already has it; nothing is made twice.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import datetime
from typing import Any

from marketscope_events import CATALOG, ConcurrencyError, DecodedEvent, EventStore
from marketscope_events.catalog.events import (
    AnalysisCompleted,
    AnalysisFailed,
    DocumentIndexed,
    NotificationCreated,
)
from marketscope_notifier.inbox.repository import InboxRepository, notification_id
from marketscope_servicekit.owned_index import table_errors

logger = logging.getLogger(__name__)
DOCUMENT_LINK = "/api/v1/documents/{document_id}"


def _unique(event_id: str) -> str:
    return hashlib.sha256(event_id.encode()).hexdigest()


def notice_of(event: DecodedEvent[Any]) -> NotificationCreated | None:
    """The notification an event of another service makes, or None."""
    data, envelope = event.data, event.envelope
    notification = notification_id(envelope.time, _unique(envelope.id))
    if isinstance(data, AnalysisCompleted):
        return NotificationCreated(
            notification_id=notification,
            owner=data.owner,
            kind="analysis",
            title=(data.title or f"Analysis of {', '.join(data.symbols)} is ready")[:200],
            body=data.summary,
            link=data.link,
            created_at=data.completed_at,
        )
    if isinstance(data, AnalysisFailed):
        again = " Asking again may work." if data.retryable else ""
        return NotificationCreated(
            notification_id=notification,
            owner=data.owner,
            kind="analysis",
            title="An analysis failed",
            body=f"{data.reason}.{again}".replace("..", "."),
            link=data.link,
            created_at=data.failed_at,
        )
    if isinstance(data, DocumentIndexed):
        chunks = "passage" if data.chunk_count == 1 else "passages"
        return NotificationCreated(
            notification_id=notification,
            owner=data.owner,
            kind="document",
            title="A document is ready to search",
            body=f"Indexed into {data.chunk_count} {chunks} ({data.embedding_model}).",
            link=DOCUMENT_LINK.format(document_id=data.document_id),
            created_at=data.indexed_at,
        )
    return None


class Notices:
    def __init__(self, store: EventStore, inbox: InboxRepository) -> None:
        self._store = store
        self._inbox = inbox

    async def handle(self, event: DecodedEvent[Any]) -> None:
        notice = notice_of(event)
        if notice is None:
            return
        await self.create(notice)

    async def create(self, notice: NotificationCreated) -> None:
        stream = f"Notification#{notice.notification_id}"
        try:
            with table_errors():
                await self._store.append(
                    stream,
                    [CATALOG.new_event(notice, subject=notice.notification_id)],
                    expected_version=0,
                )
        except ConcurrencyError:
            logger.info("notification %s exists already", notice.notification_id)
        await self._inbox.add(notice)

    async def account(
        self, owner: str, *, title: str, body: str, link: str, at: datetime, about: str
    ) -> None:
        """Tell ``owner`` about their own settings (``about`` names the occasion, so it is
        told once)."""
        await self.create(
            NotificationCreated(
                notification_id=notification_id(at, _unique(about)),
                owner=owner,
                kind="account",
                title=title[:200],
                body=body,
                link=link,
                created_at=at,
            )
        )

    async def delivered(self, event: DecodedEvent[Any]) -> None:
        """A NotificationCreated back from its topic: in the inbox, once."""
        await self._inbox.add(event.data)
