"""Event handlers of the rag service: DocumentUploaded from its queue starts indexing.

Failures are classified for the consumer: a document that cannot be read is terminal
(its status says ``failed`` with the reason, and the message goes to the DLQ with that
reason); storage trouble and concurrent changes are transient (retried with backoff, the
stream checks make the retry safe).
"""

from __future__ import annotations

from marketscope_events import (
    DecodedEvent,
    SqsConsumer,
    TerminalHandlerError,
    TransientHandlerError,
)
from marketscope_events.catalog import DocumentUploaded
from marketscope_rag.errors import ConflictError, StorageUnavailableError
from marketscope_rag.indexing.indexer import DocumentUnreadableError, Indexer


class DocumentEventHandlers:
    def __init__(self, indexer: Indexer) -> None:
        self._indexer = indexer

    def register(self, consumer: SqsConsumer) -> None:
        consumer.on(DocumentUploaded.event_name, self.on_document_uploaded)

    async def on_document_uploaded(self, event: DecodedEvent[DocumentUploaded]) -> None:
        try:
            await self._indexer.index(event.data)
        except DocumentUnreadableError as exc:
            raise TerminalHandlerError(f"document {event.data.document_id}: {exc}") from exc
        except (StorageUnavailableError, ConflictError) as exc:
            raise TransientHandlerError(str(exc)) from exc
