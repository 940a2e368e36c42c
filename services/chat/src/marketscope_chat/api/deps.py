"""What the routes share: the service, the caller, and streaming a turn as SSE."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.responses import StreamingResponse

from marketscope_chat.components import Components
from marketscope_chat.service import ChatService
from marketscope_servicekit import Identity, components_of, current_identity

SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


async def chat_service(request: Request) -> ChatService:
    return components_of(request, Components).service


Chat = Annotated[ChatService, Depends(chat_service)]
Caller = Annotated[Identity, Depends(current_identity)]


def wants_json(request: Request) -> bool:
    """``Accept: application/json`` (and not event-stream) asks for the whole answer at
    once; anything else, no Accept included, gets the stream."""
    accept = request.headers.get("accept", "")
    return "application/json" in accept and "text/event-stream" not in accept


def event_stream(frames: AsyncIterator[bytes]) -> StreamingResponse:
    # Starlette cancels the iterator when the client disconnects, which cancels the
    # model call and the tools of the turn.
    return StreamingResponse(frames, media_type="text/event-stream", headers=SSE_HEADERS)
