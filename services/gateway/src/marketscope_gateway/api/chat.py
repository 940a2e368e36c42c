"""The chat analyst: conversations and usage relayed to chat with the caller's identity
(chat scopes every conversation to its owner), messages streamed through unbuffered,
and the OpenAI-compatible door ``/openai/v1`` for OpenAI clients with an API key."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response

from marketscope_gateway.api.deps import Caller, Gateway, relay, relay_opened, relayed, streamed
from marketscope_gateway.schemas import ChatCompletionRequest, ChatMessage, NewConversation
from marketscope_servicekit import NotFound, TooManyRequests

router = APIRouter(prefix="/api/v1", tags=["chat"])
openai_router = APIRouter(prefix="/openai/v1", tags=["openai"])
ConversationId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,128}$")]
# chat's answers, relayed: 404 for a conversation that is not the caller's, 429 when
# the caller's model budget is spent (with Retry-After).
CREATED = relayed(answer="The new conversation", success=201)
LISTED = relayed()
FOUND = relayed(NotFound)
DELETED = relayed(NotFound, answer="Deleted", success=204)
ANSWERED = streamed(
    NotFound,
    TooManyRequests,
    answer="Server-sent events (message.started, message.delta, tool_call.started, "
    "tool_call.completed, citation, grounding, usage, message.completed, error), or the "
    "whole message as JSON with Accept: application/json",
)
COMPLETED = streamed(
    TooManyRequests,
    answer="A chat.completion, or with stream: true its chunks as server-sent events "
    "ending with data: [DONE]",
)


@router.post("/conversations", response_model=None, responses=CREATED, status_code=201)
async def create_conversation(body: NewConversation, caller: Caller, gateway: Gateway) -> Response:
    return relay(await gateway.chat.create_conversation(caller.identity, body.model_dump()))


@router.get("/conversations", response_model=None, responses=LISTED)
async def conversations(
    caller: Caller,
    gateway: Gateway,
    limit: Annotated[int | None, Query(ge=1, le=100)] = None,
    cursor: Annotated[str | None, Query(max_length=1024, description="next_cursor")] = None,
) -> Response:
    """The caller's conversations, newest first, a page at a time."""
    params = {"limit": limit, "cursor": cursor}
    return relay(await gateway.chat.conversations(caller.identity, params))


@router.get("/conversations/{conversation_id}", response_model=None, responses=FOUND)
async def conversation(
    conversation_id: ConversationId, caller: Caller, gateway: Gateway
) -> Response:
    """The conversation and its messages."""
    return relay(await gateway.chat.conversation(caller.identity, conversation_id))


@router.delete(
    "/conversations/{conversation_id}", response_model=None, responses=DELETED, status_code=204
)
async def delete_conversation(
    conversation_id: ConversationId, caller: Caller, gateway: Gateway
) -> Response:
    return relay(await gateway.chat.delete_conversation(caller.identity, conversation_id))


@router.post("/conversations/{conversation_id}/messages", response_model=None, responses=ANSWERED)
async def post_message(
    conversation_id: ConversationId,
    _message: ChatMessage,
    request: Request,
    caller: Caller,
    gateway: Gateway,
) -> Response:
    """Ask the analyst. The answer streams as chat sends it; a client that goes away
    ends the model call and its tools."""
    upstream = await gateway.chat.post_message(
        caller.identity, conversation_id, await request.body(), request.headers.get("accept")
    )
    return await relay_opened(upstream, gateway.chat.service)


@router.get("/usage", response_model=None, responses=LISTED)
async def usage(caller: Caller, gateway: Gateway) -> Response:
    """The caller's model usage today and this month, by model, and its budget."""
    return relay(await gateway.chat.usage(caller.identity))


@openai_router.post("/chat/completions", response_model=None, responses=COMPLETED)
async def chat_completions(
    _completion: ChatCompletionRequest, request: Request, caller: Caller, gateway: Gateway
) -> Response:
    """OpenAI's chat completions, answered by the analyst (model ``marketscope``)."""
    upstream = await gateway.chat.complete(caller.identity, await request.body())
    return await relay_opened(upstream, gateway.chat.service)


@openai_router.get("/models", response_model=None, responses=LISTED)
async def models(caller: Caller, gateway: Gateway) -> Response:
    return relay(await gateway.chat.models(caller.identity))
