"""The rag service's errors: one base class; each error an HTTP request can meet is also
one of servicekit's shared kinds, which fixes its status.

Domain code raises these; servicekit's problem handlers turn them into
``application/problem+json``. Most keep a rag-specific problem ``type``
(``urn:marketscope:problem:rag:<slug>``) that names the failure more precisely than the
shared kind. Indexing failures (`ExtractionError`) never reach HTTP: the event handler
records them on the document and rejects the message.
"""

from __future__ import annotations

from typing import ClassVar

from marketscope_servicekit import (
    Conflict,
    DependencyUnavailable,
    Forbidden,
    InvalidRequest,
    NotFound,
    PayloadTooLarge,
    ServiceError,
    TooManyRequests,
    UnsupportedMediaType,
)

PROBLEM = "urn:marketscope:problem:rag:"


class RagError(ServiceError):
    """Base of every error of the rag service."""


class DocumentNotFoundError(NotFound, RagError):
    title: ClassVar[str | None] = "Document not found"
    type: ClassVar[str] = PROBLEM + "document-not-found"

    def __init__(self, document_id: str) -> None:
        super().__init__(
            f"No document {document_id} is visible to you.",
            extensions={"document_id": document_id},
        )
        self.document_id = document_id


class ForbiddenError(Forbidden, RagError):
    """Visible but not the caller's to change (the shared knowledge base is admins')."""


class DocumentTooLargeError(PayloadTooLarge, RagError):
    title: ClassVar[str | None] = "Document too large"
    type: ClassVar[str] = PROBLEM + "document-too-large"

    def __init__(self, limit_bytes: int) -> None:
        super().__init__(
            f"Documents may be at most {limit_bytes} bytes.",
            extensions={"max_bytes": limit_bytes},
        )


class StorageQuotaExceededError(PayloadTooLarge, RagError):
    """Storing the upload would take the owner past their storage quota."""

    title: ClassVar[str | None] = "Storage quota exceeded"
    type: ClassVar[str] = PROBLEM + "storage-quota-exceeded"

    def __init__(self, *, limit: int, used: int, requested: int) -> None:
        super().__init__(
            f"Storing {requested} more bytes would exceed your storage quota: {used} of "
            f"{limit} bytes are in use. Delete documents to make room.",
            extensions={"limit": limit, "used": used, "requested": requested, "unit": "bytes"},
        )
        self.limit, self.used, self.requested = limit, used, requested


class ChunkQuotaExceededError(TooManyRequests, RagError):
    """The owner's indexed chunks have reached their quota: nothing more is indexed until
    documents are deleted, so no Retry-After is given (waiting frees nothing)."""

    title: ClassVar[str | None] = "Chunk quota exceeded"
    type: ClassVar[str] = PROBLEM + "chunk-quota-exceeded"

    def __init__(self, *, limit: int, used: int, requested: int = 0) -> None:
        ServiceError.__init__(
            self,
            f"Your documents hold {used} of {limit} indexed chunks"
            + (f"; {requested} more do not fit" if requested else "")
            + ". Delete documents to make room.",
            extensions={"limit": limit, "used": used, "unit": "chunks"},
        )
        self.limit, self.used, self.requested = limit, used, requested


class UnsupportedDocumentError(UnsupportedMediaType, RagError):
    title: ClassVar[str | None] = "Unsupported document type"
    type: ClassVar[str] = PROBLEM + "unsupported-document"

    def __init__(self, detail: str, *, declared: str | None, detected: str | None) -> None:
        super().__init__(detail, extensions={"declared": declared, "detected": detected})


class InvalidDocumentError(InvalidRequest, RagError):
    title: ClassVar[str | None] = "Invalid document"
    type: ClassVar[str] = PROBLEM + "invalid-document"


class DuplicateDocumentError(Conflict, RagError):
    title: ClassVar[str | None] = "Duplicate document"
    type: ClassVar[str] = PROBLEM + "duplicate-document"

    def __init__(self, document_id: str) -> None:
        super().__init__(
            f"These bytes are already document {document_id}.",
            extensions={"document_id": document_id},
        )
        self.document_id = document_id


class StorageUnavailableError(DependencyUnavailable, RagError):
    """The table or the bucket did not answer, throttled, or refused for a reason the
    caller cannot fix: retrying later may work."""

    title: ClassVar[str | None] = "Storage unavailable"
    type: ClassVar[str] = PROBLEM + "storage-unavailable"


class ConflictError(Conflict, RagError):
    title: ClassVar[str | None] = "Concurrent change"
    type: ClassVar[str] = PROBLEM + "concurrent-change"


class ExtractionError(InvalidRequest, RagError):
    """The stored bytes cannot be turned into text (corrupt PDF, broken encoding)."""

    title: ClassVar[str | None] = "Unreadable document"
    type: ClassVar[str] = PROBLEM + "unreadable-document"


class IndexLockedError(RagError):
    """Another process holds the Chroma directory: two writers corrupt it."""
