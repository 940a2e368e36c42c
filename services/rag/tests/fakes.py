"""Stand-ins shared by the rag tests that need no emulator."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from marketscope_events import CATALOG, DecodedEvent
from marketscope_events.catalog import DocumentUploaded
from marketscope_rag.indexing.indexer import IndexingResult


def uploaded(document_id: str = "doc-1", version_id: str | None = "v1") -> DocumentUploaded:
    return DocumentUploaded(
        document_id=document_id,
        owner="alice",
        filename="notes.md",
        content_type="text/markdown",
        size_bytes=12,
        sha256="0" * 64,
        bucket="marketscope-documents",
        key=f"rag/alice/{document_id}/notes.md",
        version_id=version_id,
        tags=[],
        uploaded_at=datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC),
    )


def decoded(data: DocumentUploaded) -> DecodedEvent[DocumentUploaded]:
    envelope = CATALOG.new_event(data, subject=f"Document#{data.document_id}")
    return DecodedEvent(envelope, data)


class ScriptedIndexer:
    """An indexer that raises what it is told to (or indexes nothing), recording calls."""

    def __init__(self, failure: Exception | None = None) -> None:
        self.failure = failure
        self.calls: list[DocumentUploaded] = []

    async def index(self, event: DocumentUploaded) -> IndexingResult:
        self.calls.append(event)
        if self.failure is not None:
            raise self.failure
        return IndexingResult(event.document_id, "indexed", 0)


class Untouchable:
    """Storage or an index that a refused request must never reach."""

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attribute: str) -> Any:
        raise AssertionError(f"{self._name}.{attribute} was used")


def paragraphs(count: int, topic: str) -> bytes:
    """Plain text of ``count`` paragraphs that the default chunker makes ``count`` chunks
    of (about 130 word pieces each: two never share a chunk, none overlaps the next)."""
    return "\n\n".join(
        f"Note {i} on {topic}: "
        + " ".join(f"{topic} measure {i} moves with factor {j} of the ledger." for j in range(9))
        for i in range(count)
    ).encode()
