"""A finished turn as the events its conversation stores: one ToolCallRecorded per tool
call, then the AssistantMessageCompleted with usage, grounding and citations."""

from __future__ import annotations

from datetime import UTC, datetime

from marketscope_chat.conversations.state import ConversationState, fold
from marketscope_chat.schemas import MessageOut
from marketscope_chat.turns import Turn
from marketscope_events import CATALOG, Envelope
from marketscope_events.catalog.events import (
    AssistantMessageCompleted,
    CitedPassage,
    GroundedNumber,
    ToolCallRecorded,
)

UNFINISHED = "The answer was not finished: the request ended before it."


def answer_message(turn: Turn, question_id: str | None) -> MessageOut:
    """The turn's answer as the conversation will show it once stored: its events folded
    as the conversation folds them."""
    now = datetime.now(UTC)
    state = ConversationState(
        id=turn.conversation_id or "", owner="", title=None, created_at=now, updated_at=now
    )
    for envelope in answer_events(turn, question_id or ""):
        state = fold(state, CATALOG.decode(envelope))
    return MessageOut.of(state.messages[-1])


def answer_events(
    turn: Turn, question_id: str, *, completed_at: datetime | None = None
) -> list[Envelope]:
    outcome = turn.outcome
    conversation_id = turn.conversation_id or ""
    events: list[Envelope] = []
    for round_number, result in outcome.tool_results:
        output = result.output
        events.append(
            CATALOG.new_event(
                ToolCallRecorded(
                    conversation_id=conversation_id,
                    message_id=turn.message_id,
                    call_id=result.call.id,
                    name=result.call.name,
                    arguments=result.call.arguments,
                    round=round_number,
                    ok=result.ok,
                    result=output.for_model if output is not None else None,
                    summary=output.summary if output is not None else None,
                    error=result.error,
                    duration_ms=result.duration_ms,
                ),
                subject=conversation_id,
            )
        )
    finished = outcome.finish_reason != "error"
    grounding = outcome.grounding
    events.append(
        CATALOG.new_event(
            AssistantMessageCompleted(
                conversation_id=conversation_id,
                message_id=turn.message_id,
                reply_to=question_id,
                content=outcome.text,
                finish_reason=outcome.finish_reason,
                error=None if finished else (outcome.error or UNFINISHED),
                provider=turn.provider,
                model=turn.model,
                rounds=outcome.rounds,
                prompt_tokens=outcome.usage.prompt_tokens,
                completion_tokens=outcome.usage.completion_tokens,
                usage_estimated=outcome.usage.estimated,
                cost_usd=round(outcome.cost_usd, 8),
                grounding=[
                    GroundedNumber(
                        text=n.text, value=n.value, status=n.status, call_id=n.call_id, tool=n.tool
                    )
                    for n in (grounding.numbers if grounding is not None else [])
                ],
                citations=[
                    CitedPassage(
                        index=index,
                        document_id=c.document_id,
                        filename=c.filename,
                        chunk_id=c.chunk_id,
                    )
                    for index, c in outcome.citations
                ],
                completed_at=completed_at or datetime.now(UTC),
            ),
            subject=conversation_id,
        )
    )
    return events
