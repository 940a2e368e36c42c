"""A conversation's state, folded from its ``Conversation#<id>`` stream.

The stream holds, in order: ConversationStarted, then per turn UserMessagePosted,
the turn's ToolCallRecorded events and its AssistantMessageCompleted (appended together
when the answer is done), and at the end possibly ConversationDeleted. A deleted
conversation folds to a state marked deleted, which every read treats as absent.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Literal

from marketscope_events import DecodedEvent
from marketscope_events.catalog.events import (
    AssistantMessageCompleted,
    ConversationDeleted,
    ConversationStarted,
    ToolCallRecorded,
    UserMessagePosted,
)

TITLE_LENGTH = 60


def stream_id(conversation_id: str) -> str:
    return f"Conversation#{conversation_id}"


@dataclass(frozen=True, slots=True)
class ToolCallEntry:
    call_id: str
    name: str
    arguments: str
    round: int
    ok: bool
    result: str | None
    summary: str | None
    error: str | None
    duration_ms: float


@dataclass(frozen=True, slots=True)
class MessageEntry:
    id: str
    role: Literal["user", "assistant"]
    content: str
    created_at: datetime
    reply_to: str | None = None
    tool_calls: tuple[ToolCallEntry, ...] = ()
    answer: AssistantMessageCompleted | None = None  # the assistant's whole record


@dataclass(frozen=True, slots=True)
class ConversationState:
    id: str
    owner: str
    title: str | None
    created_at: datetime
    updated_at: datetime
    messages: tuple[MessageEntry, ...] = ()
    pending_calls: tuple[ToolCallEntry, ...] = ()
    deleted: bool = False

    @property
    def message_count(self) -> int:
        return len(self.messages)

    @property
    def display_title(self) -> str:
        """Its title, or else the start of its first question."""
        if self.title:
            return self.title
        first = next((m.content for m in self.messages if m.role == "user"), "")
        first = " ".join(first.split())
        return first if len(first) <= TITLE_LENGTH else first[: TITLE_LENGTH - 1] + "…"

    @property
    def unanswered(self) -> MessageEntry | None:
        """The last user message when no answer to it is stored (yet)."""
        last = self.messages[-1] if self.messages else None
        return last if last is not None and last.role == "user" else None

    def turns(self) -> list[tuple[MessageEntry, MessageEntry | None]]:
        """Each user message with the answer to it (None when the turn never finished)."""
        answers = {m.reply_to: m for m in self.messages if m.role == "assistant"}
        return [(m, answers.get(m.id)) for m in self.messages if m.role == "user"]


def fold(state: ConversationState | None, decoded: DecodedEvent[Any]) -> ConversationState:
    data = decoded.data
    if isinstance(data, ConversationStarted):
        return ConversationState(
            id=data.conversation_id,
            owner=data.owner,
            title=data.title,
            created_at=data.started_at,
            updated_at=data.started_at,
        )
    if state is None:
        raise ValueError(f"{decoded.envelope.type} before ConversationStarted")
    if isinstance(data, UserMessagePosted):
        message = MessageEntry(data.message_id, "user", data.content, data.posted_at)
        return replace(state, messages=(*state.messages, message), updated_at=data.posted_at)
    if isinstance(data, ToolCallRecorded):
        call = ToolCallEntry(
            call_id=data.call_id,
            name=data.name,
            arguments=data.arguments,
            round=data.round,
            ok=data.ok,
            result=data.result,
            summary=data.summary,
            error=data.error,
            duration_ms=data.duration_ms,
        )
        return replace(state, pending_calls=(*state.pending_calls, call))
    if isinstance(data, AssistantMessageCompleted):
        message = MessageEntry(
            data.message_id,
            "assistant",
            data.content,
            data.completed_at,
            reply_to=data.reply_to,
            tool_calls=state.pending_calls,
            answer=data,
        )
        return replace(
            state,
            messages=(*state.messages, message),
            pending_calls=(),
            updated_at=data.completed_at,
        )
    if isinstance(data, ConversationDeleted):
        return replace(state, deleted=True, updated_at=data.deleted_at)
    return state  # an event this version does not know changes nothing
