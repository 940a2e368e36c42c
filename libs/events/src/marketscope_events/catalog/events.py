"""The payload models of the event catalog, one class per event version."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from marketscope_events.catalog.fields import (
    CurrencyCode,
    EventData,
    Identifier,
    Price,
    SignedDecimal,
    Symbol,
    UtcDateTime,
)


class QuoteUpdatedV1(EventData):
    """A new price was observed for a symbol (first version)."""

    event_name: ClassVar[str] = "QuoteUpdated"
    event_version: ClassVar[int] = 1

    symbol: Symbol
    price: Price
    currency: CurrencyCode = "USD"
    previous_price: Price | None = None
    as_of: UtcDateTime = Field(description="Market time the price refers to")
    source: str = Field(min_length=1, description="Provider that served the price")


class QuoteUpdatedV2(EventData):
    """A new price was observed: v2 carries the change and names the provider `provider`."""

    event_name: ClassVar[str] = "QuoteUpdated"
    event_version: ClassVar[int] = 2

    symbol: Symbol
    price: Price
    currency: CurrencyCode = "USD"
    previous_price: Price | None = None
    change: SignedDecimal | None = Field(description="price - previous_price")
    change_percent: SignedDecimal | None = Field(
        description="Change relative to previous_price, in percent, 4 decimal places"
    )
    as_of: UtcDateTime = Field(description="Market time the price refers to")
    provider: str = Field(min_length=1, description="Provider that served the price")


class DocumentUploaded(EventData):
    """A document's bytes are stored and await indexing."""

    event_name: ClassVar[str] = "DocumentUploaded"
    event_version: ClassVar[int] = 1

    document_id: Identifier
    owner: Identifier
    filename: str = Field(min_length=1, max_length=255)
    content_type: str
    size_bytes: int = Field(ge=0)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    bucket: str
    key: str
    version_id: str | None = Field(description="S3 object version to index")
    tags: list[str] = Field(default_factory=list)
    uploaded_at: UtcDateTime


class DocumentIndexed(EventData):
    """A document version's chunks are embedded and searchable."""

    event_name: ClassVar[str] = "DocumentIndexed"
    event_version: ClassVar[int] = 1

    document_id: Identifier
    owner: Identifier
    version_id: str | None
    chunk_count: int = Field(ge=0)
    embedding_model: str
    duration_ms: int = Field(ge=0)
    indexed_at: UtcDateTime


class DocumentIndexingStarted(EventData):
    """Indexing of a document version began (kept in the document's stream only)."""

    event_name: ClassVar[str] = "DocumentIndexingStarted"
    event_version: ClassVar[int] = 1

    document_id: Identifier
    version_id: str | None = Field(description="S3 object version being indexed")


class DocumentIndexingFailed(EventData):
    """Indexing of a document version failed for good (kept in the document's stream only)."""

    event_name: ClassVar[str] = "DocumentIndexingFailed"
    event_version: ClassVar[int] = 1

    document_id: Identifier
    version_id: str | None = Field(description="S3 object version that failed")
    reason: str = Field(description="Why the document could not be indexed")


class DocumentDeleted(EventData):
    """A document and its chunks were removed."""

    event_name: ClassVar[str] = "DocumentDeleted"
    event_version: ClassVar[int] = 1

    document_id: Identifier
    owner: Identifier
    deleted_at: UtcDateTime


class AnalysisRequested(EventData):
    """A user asked for an analysis job (stock or portfolio)."""

    event_name: ClassVar[str] = "AnalysisRequested"
    event_version: ClassVar[int] = 1

    analysis_id: Identifier
    owner: Identifier
    kind: Literal["stock", "portfolio"]
    symbols: list[Symbol] = Field(min_length=1)
    question: str | None = None
    requested_at: UtcDateTime


class AnalysisCompleted(EventData):
    """An analysis job finished with an answer."""

    event_name: ClassVar[str] = "AnalysisCompleted"
    event_version: ClassVar[int] = 1

    analysis_id: Identifier
    owner: Identifier
    symbols: list[Symbol]
    summary: str
    model: str
    tool_calls: int = Field(ge=0)
    prompt_tokens: int = Field(ge=0)
    completion_tokens: int = Field(ge=0)
    completed_at: UtcDateTime


class AnalysisFailed(EventData):
    """An analysis job gave up."""

    event_name: ClassVar[str] = "AnalysisFailed"
    event_version: ClassVar[int] = 1

    analysis_id: Identifier
    owner: Identifier
    reason: str
    retryable: bool
    failed_at: UtcDateTime


class AlertTriggered(EventData):
    """A price alert's condition became true."""

    event_name: ClassVar[str] = "AlertTriggered"
    event_version: ClassVar[int] = 1

    alert_id: Identifier
    owner: Identifier
    symbol: Symbol
    condition: Literal["above", "below", "change_percent_above", "change_percent_below"]
    threshold: SignedDecimal
    price: Price
    triggered_at: UtcDateTime


class NotificationCreated(EventData):
    """A message for a user was put in their inbox."""

    event_name: ClassVar[str] = "NotificationCreated"
    event_version: ClassVar[int] = 1

    notification_id: Identifier
    owner: Identifier
    kind: Literal["alert", "analysis", "document", "ops"]
    title: str = Field(max_length=200)
    body: str
    link: str | None = None
    created_at: UtcDateTime
