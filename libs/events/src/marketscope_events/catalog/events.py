"""The payload models of the event catalog, one class per event version."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from marketscope_events.catalog.fields import (
    CurrencyCode,
    EventData,
    Identifier,
    Price,
    SignedDecimal,
    Symbol,
    UtcDateTime,
)

# A notifier condition, frequency or evaluation state as JSON (their models are the
# notifier's; events carry them as the alerts API takes them).
ConditionJson = dict[str, Any]


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


AnalysisKind = Literal["stock", "portfolio"]
AnalysisStage = Literal["gathering", "computing", "searching", "writing"]
Horizon = Literal["3mo", "6mo", "1y", "2y", "5y"]
# Benchmarks are index tickers too (``^GSPC``), which `Symbol` does not allow first.
Benchmark = Annotated[str, Field(pattern=r"^\^?[A-Z0-9][A-Z0-9.\-^=]{0,14}$")]


class AnalysisRequested(EventData):
    """A user asked for an analysis job (stock or portfolio); the chat service's worker
    picks it up from its own queue."""

    event_name: ClassVar[str] = "AnalysisRequested"
    event_version: ClassVar[int] = 1

    analysis_id: Identifier
    owner: Identifier
    kind: AnalysisKind
    symbols: list[Symbol] = Field(min_length=1, max_length=25)
    weights: list[float] | None = Field(
        default=None, description="Portfolio weights in the order of symbols, summing to 1"
    )
    benchmark: Benchmark = "^GSPC"
    horizon: Horizon = "1y"
    question: str | None = Field(default=None, max_length=2000)
    requested_at: UtcDateTime


class AnalysisStarted(EventData):
    """A worker began (or, after a crash, began again) an analysis job."""

    event_name: ClassVar[str] = "AnalysisStarted"
    event_version: ClassVar[int] = 1

    analysis_id: Identifier
    attempt: int = Field(ge=1)
    worker: str
    started_at: UtcDateTime


class AnalysisProgressed(EventData):
    """How far a running analysis job is (a few per job)."""

    event_name: ClassVar[str] = "AnalysisProgressed"
    event_version: ClassVar[int] = 1

    analysis_id: Identifier
    owner: Identifier
    stage: AnalysisStage
    percent: int = Field(ge=0, le=100)
    message: str = Field(max_length=300)
    at: UtcDateTime


class AnalysisCompleted(EventData):
    """An analysis job finished with a report; ``summary`` and ``link`` are what an inbox
    notification shows."""

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
    kind: AnalysisKind | None = None
    title: str | None = Field(default=None, max_length=200)
    link: str | None = Field(default=None, description="The report, under the gateway's API")
    cost_usd: float | None = Field(default=None, ge=0)
    ungrounded_numbers: int | None = Field(default=None, ge=0)


class AnalysisFailed(EventData):
    """An analysis job gave up; ``retryable`` says whether asking again may succeed."""

    event_name: ClassVar[str] = "AnalysisFailed"
    event_version: ClassVar[int] = 1

    analysis_id: Identifier
    owner: Identifier
    reason: str
    retryable: bool
    failed_at: UtcDateTime
    link: str | None = Field(default=None, description="The analysis, under the gateway's API")


class AnalysisCancelled(EventData):
    """The owner cancelled the analysis before it finished."""

    event_name: ClassVar[str] = "AnalysisCancelled"
    event_version: ClassVar[int] = 1

    analysis_id: Identifier
    cancelled_at: UtcDateTime


class AlertTriggeredV1(EventData):
    """A price alert's condition became true (first version, never produced)."""

    event_name: ClassVar[str] = "AlertTriggered"
    event_version: ClassVar[int] = 1

    alert_id: Identifier
    owner: Identifier
    symbol: Symbol
    condition: Literal["above", "below", "change_percent_above", "change_percent_below"]
    threshold: SignedDecimal
    price: Price
    triggered_at: UtcDateTime


class AlertTriggeredV2(EventData):
    """A price alert fired: v2 carries the condition as the alerts API takes it, the
    sentence a notification shows, and the alert's evaluation state after the fire."""

    event_name: ClassVar[str] = "AlertTriggered"
    event_version: ClassVar[int] = 2

    alert_id: Identifier
    owner: Identifier
    symbol: Symbol
    condition: ConditionJson
    description: str = Field(description="The condition in words: 'crosses up through 100.00'")
    reason: str = Field(description="Why it fired: 'price crossed up through 100.00 (at 100.10)'")
    price: Price
    as_of: UtcDateTime = Field(description="Market time of the price that fired it")
    fire_count: int = Field(ge=1)
    finished: bool = Field(description="A once alert ends with its fire")
    state: ConditionJson = Field(description="The alert's evaluation state after the fire")
    triggered_at: UtcDateTime


AlertTriggered = AlertTriggeredV2


NotificationKind = Literal["alert", "analysis", "document", "ops", "account"]


class NotificationCreated(EventData):
    """A message for a user was put in their inbox."""

    event_name: ClassVar[str] = "NotificationCreated"
    event_version: ClassVar[int] = 1

    notification_id: Identifier
    owner: Identifier
    kind: NotificationKind = Field(
        description="alert, analysis, document; ops (an alarm, for admins); account (about"
        " the user's own settings, e.g. a delivery channel disabled)"
    )
    title: str = Field(max_length=200)
    body: str
    link: str | None = None
    created_at: UtcDateTime


class ConversationStarted(EventData):
    """A user began a conversation with the analyst. Kept in chat's stream."""

    event_name: ClassVar[str] = "ConversationStarted"
    event_version: ClassVar[int] = 1

    conversation_id: Identifier
    owner: Identifier
    title: str | None = Field(default=None, max_length=200)
    started_at: UtcDateTime


class UserMessagePosted(EventData):
    """The user asked something in a conversation."""

    event_name: ClassVar[str] = "UserMessagePosted"
    event_version: ClassVar[int] = 1

    conversation_id: Identifier
    message_id: Identifier
    content: str
    posted_at: UtcDateTime


class ToolCallRecorded(EventData):
    """A tool the model called while writing an answer, and what it returned."""

    event_name: ClassVar[str] = "ToolCallRecorded"
    event_version: ClassVar[int] = 1

    conversation_id: Identifier
    message_id: Identifier = Field(description="The assistant message the call served")
    call_id: Identifier
    name: str
    arguments: str = Field(description="The arguments as the model wrote them (JSON text)")
    round: int = Field(ge=1)
    ok: bool
    result: str | None = Field(description="What the model was shown (JSON text)")
    summary: str | None
    error: str | None
    duration_ms: float = Field(ge=0)


class GroundedNumber(BaseModel):
    """One number of an answer and where it came from (a part of an event, not one)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    text: str
    value: float
    status: Literal["grounded", "ungrounded", "from_question"]
    call_id: str | None
    tool: str | None


class CitedPassage(BaseModel):
    """A document passage an answer cites as ``[n]`` (a part of an event, not one)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    index: int = Field(ge=1)
    document_id: Identifier
    filename: str
    chunk_id: str


class AssistantMessageCompleted(EventData):
    """The analyst's answer, with what it cost and how its numbers are grounded."""

    event_name: ClassVar[str] = "AssistantMessageCompleted"
    event_version: ClassVar[int] = 1

    conversation_id: Identifier
    message_id: Identifier
    reply_to: Identifier = Field(description="The user message answered")
    content: str
    finish_reason: Literal["stop", "max_rounds", "length", "error"]
    error: str | None = None
    provider: str
    model: str
    rounds: int = Field(ge=0)
    prompt_tokens: int = Field(ge=0)
    completion_tokens: int = Field(ge=0)
    usage_estimated: bool
    cost_usd: float = Field(ge=0)
    grounding: list[GroundedNumber] = Field(default_factory=list)
    citations: list[CitedPassage] = Field(default_factory=list)
    completed_at: UtcDateTime


class ConversationDeleted(EventData):
    """The owner deleted the conversation; its stream answers nothing after this."""

    event_name: ClassVar[str] = "ConversationDeleted"
    event_version: ClassVar[int] = 1

    conversation_id: Identifier
    deleted_at: UtcDateTime


class AlertCreated(EventData):
    """A user set a price alert (kept in the notifier's ``Alert#<id>`` stream)."""

    event_name: ClassVar[str] = "AlertCreated"
    event_version: ClassVar[int] = 1

    alert_id: Identifier
    owner: Identifier
    symbol: Symbol
    condition: ConditionJson = Field(description="The condition, as the alerts API takes it")
    frequency: ConditionJson = Field(description="once, or every_time with its cooldown")
    expires_at: UtcDateTime | None = None
    note: str | None = Field(default=None, max_length=500)
    created_at: UtcDateTime


class AlertUpdated(EventData):
    """The owner changed an alert's condition, frequency, expiry or note; its evaluation
    starts afresh."""

    event_name: ClassVar[str] = "AlertUpdated"
    event_version: ClassVar[int] = 1

    alert_id: Identifier
    condition: ConditionJson
    frequency: ConditionJson
    expires_at: UtcDateTime | None = None
    note: str | None = Field(default=None, max_length=500)
    updated_at: UtcDateTime


class AlertPaused(EventData):
    event_name: ClassVar[str] = "AlertPaused"
    event_version: ClassVar[int] = 1

    alert_id: Identifier
    paused_at: UtcDateTime


class AlertResumed(EventData):
    event_name: ClassVar[str] = "AlertResumed"
    event_version: ClassVar[int] = 1

    alert_id: Identifier
    resumed_at: UtcDateTime


class AlertObserved(EventData):
    """A price changed what the alert remembers (primed it, moved it to the other side)
    without firing or re-arming it."""

    event_name: ClassVar[str] = "AlertObserved"
    event_version: ClassVar[int] = 1

    alert_id: Identifier
    price: Price
    as_of: UtcDateTime
    state: ConditionJson = Field(description="The alert's evaluation state after the price")


class AlertRearmed(EventData):
    """The price moved back past the level by the hysteresis band: the alert may fire again."""

    event_name: ClassVar[str] = "AlertRearmed"
    event_version: ClassVar[int] = 1

    alert_id: Identifier
    price: Price
    as_of: UtcDateTime
    state: ConditionJson


class AlertExpired(EventData):
    event_name: ClassVar[str] = "AlertExpired"
    event_version: ClassVar[int] = 1

    alert_id: Identifier
    expired_at: UtcDateTime


class AlertDeleted(EventData):
    event_name: ClassVar[str] = "AlertDeleted"
    event_version: ClassVar[int] = 1

    alert_id: Identifier
    deleted_at: UtcDateTime
