"""HTTP layer of the chat service: thin routes over `ChatService`, all under the
gateway-signed identity (servicekit's `current_identity`)."""

from __future__ import annotations

from fastapi import APIRouter

from marketscope_chat.api.analyses import router as analyses
from marketscope_chat.api.conversations import router as conversations
from marketscope_chat.api.openai import router as openai

router = APIRouter()
router.include_router(conversations)
router.include_router(openai)
router.include_router(analyses)
