"""The gateway's HTTP models: what clients send and get back.

The overview's part models list exactly the fields the gateway reads from each service
(``READS`` says where from); the consumer-driven contract test checks them against the
services' OpenAPI snapshots.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from marketscope_gateway.auth.passwords import MAX_PASSWORD_LENGTH

SYMBOL_PATTERN = r"^[A-Za-z0-9^][A-Za-z0-9.\-^=]{0,14}$"

# ------------------------------------------------------------------ accounts


class Credentials(BaseModel):
    email: str = Field(max_length=254, examples=["ada@example.com"])
    password: str = Field(max_length=MAX_PASSWORD_LENGTH)


class RefreshRequest(BaseModel):
    refresh_token: str = Field(max_length=4096)


class User(BaseModel):
    user_id: str
    email: str
    roles: list[Literal["user", "admin"]]
    created_at: datetime


class Tokens(BaseModel):
    token_type: Literal["Bearer"] = "Bearer"
    access_token: str
    expires_in: int = Field(description="Seconds the access token is valid for")
    refresh_token: str | None = Field(
        description="Single use: each refresh returns a new one. Null when it was set as "
        "the HttpOnly cookie instead (X-Refresh-Cookie: 1)"
    )
    refresh_expires_in: int
    user: User


# ------------------------------------------------------------------ API keys


class NewApiKey(BaseModel):
    name: str = Field(min_length=1, max_length=100, examples=["notebook"])


class ApiKey(BaseModel):
    id: str = Field(description="The key's id, also in the key itself after its prefix")
    name: str
    prefix: str = Field(description="What the key starts with", examples=["msk_1a2b3c4d"])
    created_at: datetime
    last_used_at: datetime | None = Field(description="Recorded at most once a minute")


class NewApiKeyIssued(BaseModel):
    id: str
    name: str
    prefix: str
    key: str = Field(description="The whole key: shown this once, never again")
    created_at: datetime


# --------------------------------------------------------- relayed requests


class WatchlistBody(BaseModel):
    symbols: list[Annotated[str, Field(pattern=SYMBOL_PATTERN)]] = Field(max_length=100)


class SearchRequest(BaseModel):
    query: str = Field(min_length=1, max_length=1000)
    k: int = Field(default=5, ge=1, le=50)
    mode: Literal["hybrid", "vector", "bm25"] = "hybrid"
    document_ids: list[Annotated[str, Field(max_length=128)]] | None = Field(
        default=None, max_length=100
    )
    tags: list[Annotated[str, Field(max_length=64)]] | None = Field(default=None, max_length=20)


class NewConversation(BaseModel):
    title: str | None = None


class ChatMessage(BaseModel):
    """What chat takes; the body goes to chat as the client sent it."""

    model_config = ConfigDict(extra="allow")

    content: str


class ChatCompletionRequest(BaseModel):
    """OpenAI's chat completion request; the body goes to chat as the client sent it."""

    model_config = ConfigDict(extra="allow")

    model: str = Field(examples=["marketscope"])
    messages: list[dict[str, Any]]
    stream: bool | None = Field(default=None, description="Answer as server-sent events")


MAX_ANALYSIS_SYMBOLS = 25
AnalysisSymbol = Annotated[str, Field(pattern=SYMBOL_PATTERN)]


class AnalysisRequest(BaseModel):
    """An analysis job to queue. The body goes to chat as the client sent it: chat knows
    which symbols exist, and checks that the weights sum to 1 and match the symbols."""

    kind: Literal["stock", "portfolio"]
    symbols: list[AnalysisSymbol] = Field(
        min_length=1, max_length=MAX_ANALYSIS_SYMBOLS, examples=[["AAPL", "MSFT"]]
    )
    weights: list[float] | None = Field(
        default=None,
        max_length=MAX_ANALYSIS_SYMBOLS,
        description="A portfolio's weight per symbol, in the symbols' order, summing to 1",
        examples=[[0.6, 0.4]],
    )
    benchmark: AnalysisSymbol | None = Field(default=None, examples=["^GSPC"])
    horizon: Literal["3mo", "6mo", "1y", "2y", "5y"] = "1y"
    question: str | None = Field(
        default=None, max_length=2000, description="A question the report answers as well"
    )


# ------------------------------------------------------------------ alerts


class AlertCondition(BaseModel):
    """When the alert fires; notifier checks the fields each kind needs."""

    model_config = ConfigDict(extra="allow")

    kind: str = Field(
        max_length=32,
        description="greater_than, less_than, crossing, crossing_up, crossing_down (with "
        "level); entering_channel, exiting_channel (with low and high); moving_up_pct, "
        "moving_down_pct (with percent and window_seconds)",
        examples=["crossing_up"],
    )


class AlertFrequency(BaseModel):
    """How often it fires; notifier checks the fields each kind takes."""

    model_config = ConfigDict(extra="allow")

    kind: str = Field(
        max_length=32,
        description="once, or every_time (with cooldown_seconds and hysteresis_pct)",
        examples=["once"],
    )


class AlertRequest(BaseModel):
    """A price alert to set. The body goes to notifier as the client sent it, once
    market-data has answered a quote of the symbol."""

    symbol: str = Field(pattern=SYMBOL_PATTERN, examples=["AAPL"])
    condition: AlertCondition = Field(examples=[{"kind": "crossing_up", "level": 200.0}])
    frequency: AlertFrequency | None = Field(default=None, description="once by default")
    expires_at: datetime | None = Field(default=None, description="When the alert ends")
    note: str | None = Field(default=None, max_length=500, description="Shown when it fires")


class AlertChangeRequest(BaseModel):
    """What changes of an alert; what is left out stays. The body goes to notifier as the
    client sent it."""

    condition: AlertCondition | None = None
    frequency: AlertFrequency | None = None
    expires_at: datetime | None = None
    note: str | None = Field(default=None, max_length=500)


NotificationKindName = Literal["alert", "analysis", "document", "ops", "account"]


class ChannelRequest(BaseModel):
    """A delivery channel to add: ``webhook`` (url), ``email`` (email) or ``sms`` (phone,
    E.164). The body goes to notifier as the client sent it; notifier checks it (a
    webhook URL must be public)."""

    type: Literal["webhook", "email", "sms"]
    url: str | None = Field(default=None, max_length=2048, examples=["https://example.com/hook"])
    email: str | None = Field(default=None, max_length=254)
    phone: str | None = Field(default=None, max_length=16, examples=["+15555550100"])
    kinds: list[NotificationKindName] | None = Field(
        default=None, description="Which notifications it gets (all kinds by default)"
    )
    description: str | None = Field(default=None, max_length=200)


class ChannelChangeRequest(BaseModel):
    """What changes of a channel; what is left out stays."""

    kinds: list[NotificationKindName] | None = None
    description: str | None = Field(default=None, max_length=200)
    enabled: bool | None = None
    url: str | None = Field(default=None, max_length=2048)


class VerificationRequest(BaseModel):
    code: str = Field(pattern=r"^[0-9]{6}$", description="The code sent by SMS")


# ------------------------------------------------------------------ overview

Part = Literal["quote", "history", "indicators", "documents"]


class _Read(BaseModel):
    # Fields a service adds later are ignored; a field it drops fails the part.
    model_config = ConfigDict(extra="ignore")


class OverviewQuote(_Read):
    symbol: str
    price: float
    change: float | None
    change_percent: float | None
    currency: str = "USD"  # market-data may omit it (its default)
    as_of: datetime
    source: str
    stale: bool


class OverviewBar(_Read):
    date: date
    open: float
    high: float
    low: float
    close: float
    volume: int


class OverviewHistory(_Read):
    interval: str
    start: date
    end: date
    bars: list[OverviewBar]
    source: str
    stale: bool


class OverviewIndicators(_Read):
    as_of: date
    close: float
    indicators: dict[str, Any]
    source: str
    stale: bool


class CitationRead(_Read):
    document_id: str
    filename: str
    chunk_index: int


class SearchHitRead(_Read):
    citation: CitationRead
    score: float
    snippet: str


class SearchHits(_Read):
    hits: list[SearchHitRead]


class RelatedDocument(BaseModel):
    document_id: str
    filename: str
    chunk_index: int
    score: float
    snippet: str

    @classmethod
    def of(cls, hit: SearchHitRead) -> RelatedDocument:
        citation = hit.citation
        return cls(
            document_id=citation.document_id,
            filename=citation.filename,
            chunk_index=citation.chunk_index,
            score=hit.score,
            snippet=hit.snippet,
        )


class PartError(BaseModel):
    part: Part
    service: str
    status: int
    detail: str


class StockOverview(BaseModel):
    symbol: str
    quote: OverviewQuote | None
    history: OverviewHistory | None
    indicators: OverviewIndicators | None
    documents: list[RelatedDocument] | None
    errors: list[PartError]


# Which answer each read model is read from: (service, method, path template, status).
READS: dict[type[_Read], tuple[str, str, str, str]] = {
    OverviewQuote: ("market-data", "get", "/quotes/{symbol}", "200"),
    OverviewHistory: ("market-data", "get", "/history/{symbol}", "200"),
    OverviewIndicators: ("market-data", "get", "/indicators/{symbol}", "200"),
    SearchHits: ("rag", "post", "/search", "200"),
}
