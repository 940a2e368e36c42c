"""Conversations with the analyst, their turns (streamed or whole), and usage."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status

from marketscope_chat.api.deps import Caller, Chat, event_stream, wants_json
from marketscope_chat.errors import (
    BudgetExceeded,
    ConversationConflict,
    ConversationNotFound,
    ModelNotConfigured,
)
from marketscope_chat.recording import answer_message
from marketscope_chat.schemas import (
    AnswerOut,
    ConversationCreate,
    ConversationDetail,
    ConversationList,
    ConversationOut,
    MessageCreate,
    MessageOut,
    UsageReport,
)
from marketscope_chat.service import PreparedTurn
from marketscope_chat.stream_events import sse_frame
from marketscope_servicekit.openapi_problems import problem_responses
from marketscope_servicekit.owned_index import InvalidCursor

router = APIRouter(tags=["chat"])
NOT_FOUND = problem_responses(ConversationNotFound)
TURN = problem_responses(
    ConversationNotFound, ConversationConflict, BudgetExceeded, ModelNotConfigured
)


@router.post("/conversations", status_code=status.HTTP_201_CREATED)
async def start_conversation(
    body: ConversationCreate, caller: Caller, chat: Chat
) -> ConversationOut:
    state = await chat.start(caller.user_id, body.title)
    return ConversationOut.of_state(state, chat.expires_at(state))


@router.get("/conversations", responses=problem_responses(InvalidCursor))
async def list_conversations(
    caller: Caller,
    chat: Chat,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
) -> ConversationList:
    """The caller's conversations, newest first."""
    page = await chat.list(caller.user_id, limit=limit, cursor=cursor)
    return ConversationList(
        items=[ConversationOut.of_summary(s) for s in page.items], next_cursor=page.next_cursor
    )


@router.get("/conversations/{conversation_id}", responses=NOT_FOUND)
async def get_conversation(conversation_id: str, caller: Caller, chat: Chat) -> ConversationDetail:
    state = await chat.get(caller.user_id, conversation_id)
    summary = ConversationOut.of_state(state, chat.expires_at(state))
    return ConversationDetail(
        **summary.model_dump(), messages=[MessageOut.of(m) for m in state.messages]
    )


@router.delete(
    "/conversations/{conversation_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=NOT_FOUND,
)
async def delete_conversation(conversation_id: str, caller: Caller, chat: Chat) -> Response:
    await chat.delete(caller.user_id, conversation_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


async def _frames(turn: PreparedTurn) -> AsyncIterator[bytes]:
    async for event in turn.events():
        yield sse_frame(event)


@router.post(
    "/conversations/{conversation_id}/messages",
    responses={
        200: {
            "description": "The answer as `text/event-stream` (default), or whole as JSON "
            "with `Accept: application/json`",
            "content": {"text/event-stream": {}, "application/json": {}},
        },
        **TURN,
    },
    response_model=AnswerOut,
)
async def post_message(
    conversation_id: str, body: MessageCreate, request: Request, caller: Caller, chat: Chat
) -> Response:
    """Ask the analyst; the answer streams as it is written."""
    turn = await chat.ask(caller, conversation_id, body.content)
    if not wants_json(request):
        return event_stream(_frames(turn))
    events = [event.model_dump(mode="json") async for event in turn.events()]
    answer = AnswerOut(message=answer_message(turn.turn, turn.question_id), events=events)
    return Response(answer.model_dump_json(), media_type="application/json")


@router.get("/usage")
async def get_usage(caller: Caller, chat: Chat) -> UsageReport:
    """Tokens and cost of today and this month (UTC), per model, and the daily budget."""
    return UsageReport.of(await chat.usage(caller.user_id))
