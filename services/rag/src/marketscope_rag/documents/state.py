"""A document's life as an event stream (``Document#<id>``) and its folded state.

Published events are the catalog's DocumentUploaded, DocumentIndexed and DocumentDeleted.
Two more catalog events are kept in the stream and never published (appended with
``publish=False``), because only this service cares: DocumentIndexingStarted and
DocumentIndexingFailed (with the reason). Status follows the latest uploaded version: an
older version's late DocumentIndexed does not make a newer upload look indexed.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from marketscope_events import DecodedEvent, EventData
from marketscope_events.catalog import (
    DocumentDeleted,
    DocumentIndexed,
    DocumentIndexingFailed,
    DocumentIndexingStarted,
    DocumentUploaded,
)

SHARED_OWNER = "shared"
STREAM_PREFIX = "Document#"


def stream_id(document_id: str) -> str:
    return STREAM_PREFIX + document_id


class DocumentStatus(StrEnum):
    UPLOADED = "uploaded"
    INDEXING = "indexing"
    INDEXED = "indexed"
    FAILED = "failed"
    DELETED = "deleted"


class DocumentState(BaseModel):
    """The projection of one document's stream."""

    model_config = ConfigDict(frozen=True)

    document_id: str
    owner: str
    filename: str
    content_type: str
    size_bytes: int
    stored_bytes: int = Field(default=0, description="Bytes of every version uploaded")
    sha256: str
    bucket: str
    key: str
    version_id: str | None
    tags: list[str]
    status: DocumentStatus
    versions: int
    created_at: datetime
    updated_at: datetime
    indexed_version_id: str | None = None
    chunk_count: int | None = None
    embedding_model: str | None = None
    failure_reason: str | None = None
    stream_version: int = 0

    @property
    def deleted(self) -> bool:
        return self.status is DocumentStatus.DELETED


def fold(state: DocumentState | None, event: DecodedEvent[EventData]) -> DocumentState:
    """``state`` after one more event of its stream (decoded at the latest version)."""
    data, envelope = event.data, event.envelope
    version = envelope.sequence or 0
    if isinstance(data, DocumentUploaded):
        return _uploaded(state, data, version)
    if state is None:
        raise ValueError(f"{envelope.subject}: {data.event_name} before DocumentUploaded")
    changes: dict[str, Any] = {"stream_version": version, "updated_at": envelope.time}
    if isinstance(data, DocumentIndexingStarted) and data.version_id == state.version_id:
        changes.update(status=DocumentStatus.INDEXING, failure_reason=None)
    elif isinstance(data, DocumentIndexed):
        changes.update(
            indexed_version_id=data.version_id,
            chunk_count=data.chunk_count,
            embedding_model=data.embedding_model,
        )
        if data.version_id == state.version_id:
            changes.update(status=DocumentStatus.INDEXED, failure_reason=None)
    elif isinstance(data, DocumentIndexingFailed) and data.version_id == state.version_id:
        changes.update(status=DocumentStatus.FAILED, failure_reason=data.reason)
    elif isinstance(data, DocumentDeleted):
        changes.update(status=DocumentStatus.DELETED)
    return state.model_copy(update=changes)


def _uploaded(state: DocumentState | None, data: DocumentUploaded, version: int) -> DocumentState:
    """A first upload, or a new version: what indexing found out about the previous
    version is kept until the new one is indexed."""
    return DocumentState(
        document_id=data.document_id,
        owner=data.owner,
        filename=data.filename,
        content_type=data.content_type,
        size_bytes=data.size_bytes,
        stored_bytes=(state.stored_bytes if state else 0) + data.size_bytes,
        sha256=data.sha256,
        bucket=data.bucket,
        key=data.key,
        version_id=data.version_id,
        tags=list(data.tags),
        status=DocumentStatus.UPLOADED,
        versions=(state.versions if state else 0) + 1,
        created_at=state.created_at if state else data.uploaded_at,
        updated_at=data.uploaded_at,
        indexed_version_id=state.indexed_version_id if state else None,
        chunk_count=state.chunk_count if state else None,
        embedding_model=state.embedding_model if state else None,
        stream_version=version,
    )
