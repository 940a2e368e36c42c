"""HTTP request and response models of the chat service."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from marketscope_chat.conversations.state import ConversationState, MessageEntry
from marketscope_chat.spending import UsageSummary
from marketscope_chat.store import ConversationSummary, UsageTotals
from marketscope_chat.stream_events import GroundedNumberModel

MAX_QUESTION_CHARS = 8_000


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True)


class ConversationCreate(_Model):
    title: str | None = Field(default=None, max_length=200)


class MessageCreate(_Model):
    content: str = Field(min_length=1, max_length=MAX_QUESTION_CHARS)


class ConversationOut(_Model):
    id: str
    title: str
    created_at: datetime
    updated_at: datetime
    message_count: int
    expires_at: datetime

    @classmethod
    def of_summary(cls, summary: ConversationSummary) -> ConversationOut:
        return cls(
            id=summary.id,
            title=summary.title,
            created_at=summary.created_at,
            updated_at=summary.updated_at,
            message_count=summary.message_count,
            expires_at=summary.expires_at,
        )

    @classmethod
    def of_state(cls, state: ConversationState, expires_at: datetime) -> ConversationOut:
        return cls(
            id=state.id,
            title=state.display_title,
            created_at=state.created_at,
            updated_at=state.updated_at,
            message_count=state.message_count,
            expires_at=expires_at,
        )


class ConversationList(_Model):
    items: list[ConversationOut]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page")


class ToolCallOut(_Model):
    call_id: str
    name: str
    arguments: str
    round: int
    ok: bool
    summary: str | None
    error: str | None
    duration_ms: float


class CitationOut(_Model):
    index: int
    document_id: str
    filename: str
    chunk_id: str


class UsageOut(_Model):
    prompt_tokens: int
    completion_tokens: int
    estimated: bool
    cost_usd: float


class MessageOut(_Model):
    id: str
    role: Literal["user", "assistant"]
    content: str
    created_at: datetime
    reply_to: str | None = None
    finish_reason: str | None = None
    error: str | None = None
    provider: str | None = None
    model: str | None = None
    tool_calls: list[ToolCallOut] = Field(default_factory=list)
    grounding: list[GroundedNumberModel] = Field(default_factory=list)
    citations: list[CitationOut] = Field(default_factory=list)
    usage: UsageOut | None = None

    @classmethod
    def of(cls, message: MessageEntry) -> MessageOut:
        answer = message.answer
        if answer is None:
            return cls(
                id=message.id,
                role=message.role,
                content=message.content,
                created_at=message.created_at,
            )
        return cls(
            id=message.id,
            role=message.role,
            content=message.content,
            created_at=message.created_at,
            reply_to=message.reply_to,
            finish_reason=answer.finish_reason,
            error=answer.error,
            provider=answer.provider,
            model=answer.model,
            tool_calls=[
                ToolCallOut(
                    call_id=c.call_id,
                    name=c.name,
                    arguments=c.arguments,
                    round=c.round,
                    ok=c.ok,
                    summary=c.summary,
                    error=c.error,
                    duration_ms=c.duration_ms,
                )
                for c in message.tool_calls
            ],
            grounding=[GroundedNumberModel(**g.model_dump()) for g in answer.grounding],
            citations=[CitationOut(**c.model_dump()) for c in answer.citations],
            usage=UsageOut(
                prompt_tokens=answer.prompt_tokens,
                completion_tokens=answer.completion_tokens,
                estimated=answer.usage_estimated,
                cost_usd=answer.cost_usd,
            ),
        )


class ConversationDetail(ConversationOut):
    messages: list[MessageOut]


class AnswerOut(_Model):
    """The non-streaming form of a turn: the answer and every event it streamed."""

    message: MessageOut
    events: list[dict[str, Any]]


class TotalsOut(_Model):
    tokens: int
    cost_usd: float
    model_calls: int

    @classmethod
    def of(cls, totals: UsageTotals) -> TotalsOut:
        return cls(
            tokens=totals.tokens, cost_usd=round(totals.cost_usd, 8), model_calls=totals.calls
        )


class ModelUsageOut(_Model):
    model: str
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    model_calls: int
    cost_usd: float


class BudgetOut(_Model):
    daily_tokens: int | None
    daily_cost_usd: float | None
    tokens_left: int | None
    resets_at: datetime


class UsageReport(_Model):
    today: TotalsOut
    month: TotalsOut
    by_model: list[ModelUsageOut] = Field(description="This month, per model")
    budget: BudgetOut

    @classmethod
    def of(cls, summary: UsageSummary) -> UsageReport:
        budget = summary.budget
        return cls(
            today=TotalsOut.of(summary.today),
            month=TotalsOut.of(summary.month),
            by_model=[
                ModelUsageOut(
                    model=m.model,
                    prompt_tokens=m.prompt_tokens,
                    completion_tokens=m.completion_tokens,
                    total_tokens=m.total_tokens,
                    model_calls=m.calls,
                    cost_usd=round(m.cost_usd, 8),
                )
                for m in summary.month.by_model
            ],
            budget=BudgetOut(
                daily_tokens=budget.daily_tokens,
                daily_cost_usd=budget.daily_cost_usd,
                tokens_left=None
                if budget.daily_tokens is None
                else max(0, budget.daily_tokens - summary.today.tokens),
                resets_at=summary.resets_at,
            ),
        )
