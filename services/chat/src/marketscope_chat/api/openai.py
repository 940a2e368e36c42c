"""The OpenAI-compatible door: ``/openai/v1/chat/completions`` and ``/openai/v1/models``."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response

from marketscope_chat.api.deps import Caller, Chat, event_stream
from marketscope_chat.errors import BudgetExceeded, ModelNotConfigured, UnknownModel
from marketscope_chat.openai_wire import (
    MODEL_ID,
    CompletionRequest,
    completion,
    completion_chunks,
    models_list,
)
from marketscope_servicekit.openapi_problems import problem_responses

router = APIRouter(prefix="/openai/v1", tags=["openai-compatible"])


@router.get("/models")
async def list_models(caller: Caller) -> dict[str, object]:
    """The one model served: ``marketscope``."""
    return models_list()


@router.post(
    "/chat/completions",
    responses={
        200: {
            "description": "A chat.completion, or chat.completion.chunk frames when streamed",
            "content": {"application/json": {}, "text/event-stream": {}},
        },
        **problem_responses(UnknownModel, BudgetExceeded, ModelNotConfigured),
    },
)
async def chat_completions(body: CompletionRequest, caller: Caller, chat: Chat) -> Response:
    """An answer from the analyst in OpenAI's wire format; its tools run here."""
    if body.model != MODEL_ID:
        raise UnknownModel(body.model)
    turn = await chat.complete(caller, [m.as_message() for m in body.messages])
    if body.stream:
        include_usage = bool(body.stream_options and body.stream_options.include_usage)
        return event_stream(completion_chunks(turn, include_usage=include_usage))
    status, answer = await completion(turn)
    return JSONResponse(answer, status_code=status)
