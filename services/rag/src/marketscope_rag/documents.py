"""A document's life as an event stream (``Document#<id>``) and its folded state.

Published events are the catalog's DocumentUploaded, DocumentIndexed and DocumentDeleted.
Two more are kept in the stream and never published, because only this service cares:
DocumentIndexingStarted and DocumentIndexingFailed (with the reason). Status follows the
latest uploaded version: an older version's late DocumentIndexed does not make a newer
upload look indexed.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict

from marketscope_events import Envelope
from marketscope_events.catalog import DocumentDeleted, DocumentIndexed, DocumentUploaded

SHARED_OWNER = "shared"
STREAM_PREFIX = "Document#"
SOURCE = "/marketscope/rag"
INDEXING_STARTED = "DocumentIndexingStarted"
INDEXING_FAILED = "DocumentIndexingFailed"


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


def fold(events: Iterable[Envelope]) -> DocumentState | None:
    state: DocumentState | None = None
    for envelope in events:
        state = apply(state, envelope)
    return state


def apply(state: DocumentState | None, envelope: Envelope) -> DocumentState:
    name, data = envelope.event_type.name, envelope.data
    version = envelope.sequence or 0
    if name == DocumentUploaded.event_name:
        uploaded = DocumentUploaded.model_validate(data)
        return DocumentState(
            document_id=uploaded.document_id,
            owner=uploaded.owner,
            filename=uploaded.filename,
            content_type=uploaded.content_type,
            size_bytes=uploaded.size_bytes,
            sha256=uploaded.sha256,
            bucket=uploaded.bucket,
            key=uploaded.key,
            version_id=uploaded.version_id,
            tags=list(uploaded.tags),
            status=DocumentStatus.UPLOADED,
            versions=(state.versions if state else 0) + 1,
            created_at=state.created_at if state else uploaded.uploaded_at,
            updated_at=uploaded.uploaded_at,
            indexed_version_id=state.indexed_version_id if state else None,
            chunk_count=state.chunk_count if state else None,
            embedding_model=state.embedding_model if state else None,
            stream_version=version,
        )
    if state is None:
        raise ValueError(f"{envelope.subject}: {name} before DocumentUploaded")
    changes: dict[str, Any] = {"stream_version": version, "updated_at": envelope.time}
    current = data.get("version_id") == state.version_id
    if name == INDEXING_STARTED and current:
        changes.update(status=DocumentStatus.INDEXING, failure_reason=None)
    elif name == DocumentIndexed.event_name:
        indexed = DocumentIndexed.model_validate(data)
        changes.update(
            indexed_version_id=indexed.version_id,
            chunk_count=indexed.chunk_count,
            embedding_model=indexed.embedding_model,
        )
        if current:
            changes.update(status=DocumentStatus.INDEXED, failure_reason=None)
    elif name == INDEXING_FAILED and current:
        changes.update(status=DocumentStatus.FAILED, failure_reason=str(data["reason"]))
    elif name == DocumentDeleted.event_name:
        changes.update(status=DocumentStatus.DELETED)
    return state.model_copy(update=changes)


def internal_event(name: str, document_id: str, data: dict[str, Any], time: datetime) -> Envelope:
    """An event kept in the stream only (outside the catalog: never published)."""
    return Envelope(
        id=str(uuid.uuid4()),
        source=SOURCE,
        type=f"marketscope.rag.{name}.v1",
        time=time,
        subject=stream_id(document_id),
        data=data,
        dataversion=1,
    )
