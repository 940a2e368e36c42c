"""The OpenAI chat-completions wire format, spoken by the analyst's compatible door.

A client built for OpenAI (``OpenAI(base_url=".../openai/v1")``) asks model
``marketscope``; the turn runs server side with the same loop, tools and budget as a
conversation, and the client sees content and usage in the standard shapes: a
``chat.completion`` object, or ``chat.completion.chunk`` frames (``data: {...}``) ending
``data: [DONE]``, with a usage-only chunk when ``stream_options.include_usage`` asks. A
``marketscope`` field adds the grounding and tool calls; OpenAI clients keep unknown
fields.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from marketscope_chat.service import PreparedTurn
from marketscope_chat.stream_events import (
    ErrorEvent,
    Grounding,
    MessageCompleted,
    MessageDelta,
    ToolCallCompleted,
    UsageEvent,
)

MODEL_ID = "marketscope"
MODEL_CREATED = 1764547200  # 2025-12-01, when the model name was first served


class TextPart(BaseModel):
    type: Literal["text"]
    text: str


class WireMessage(BaseModel):
    model_config = ConfigDict(extra="ignore")

    role: Literal["system", "developer", "user", "assistant"]
    content: str | list[TextPart] | None = None

    def as_message(self) -> dict[str, Any]:
        content = self.content
        if isinstance(content, list):
            content = "".join(part.text for part in content)
        role = "system" if self.role == "developer" else self.role
        return {"role": role, "content": content or ""}


class StreamOptions(BaseModel):
    model_config = ConfigDict(extra="ignore")

    include_usage: bool = False


class CompletionRequest(BaseModel):
    """What the door reads of a chat-completions request; sampling options are
    accepted and ignored (the analyst's answers come from its tools)."""

    model_config = ConfigDict(extra="ignore")

    model: str
    messages: list[WireMessage] = Field(min_length=1, max_length=200)
    stream: bool = False
    stream_options: StreamOptions | None = None


def models_list() -> dict[str, Any]:
    return {
        "object": "list",
        "data": [
            {"id": MODEL_ID, "object": "model", "created": MODEL_CREATED, "owned_by": "marketscope"}
        ],
    }


class _Collected:
    def __init__(self) -> None:
        self.usage: UsageEvent | None = None
        self.grounding: Grounding | None = None
        self.tool_calls: list[dict[str, Any]] = []
        self.error: ErrorEvent | None = None
        self.text = ""
        self.finish_reason = "stop"

    def take(self, event: object) -> None:
        if isinstance(event, UsageEvent):
            self.usage = event
        elif isinstance(event, Grounding):
            self.grounding = event
        elif isinstance(event, ToolCallCompleted):
            self.tool_calls.append(
                event.model_dump(include={"name", "arguments", "ok", "summary", "error"})
            )
        elif isinstance(event, ErrorEvent):
            self.error = event
        elif isinstance(event, MessageCompleted):
            self.text = event.text
            self.finish_reason = "length" if event.finish_reason == "length" else "stop"

    def usage_json(self) -> dict[str, int]:
        usage = self.usage
        if usage is None:
            return {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}
        return {
            "prompt_tokens": usage.prompt_tokens,
            "completion_tokens": usage.completion_tokens,
            "total_tokens": usage.total_tokens,
        }

    def extension(self) -> dict[str, Any]:
        return {
            "grounding": self.grounding.model_dump(
                mode="json", include={"numbers", "grounded", "ungrounded"}
            )
            if self.grounding
            else None,
            "tool_calls": self.tool_calls,
        }


def _error_body(error: ErrorEvent) -> dict[str, Any]:
    return {"error": {"message": error.detail, "type": error.code, "code": error.code}}


async def completion(turn: PreparedTurn) -> tuple[int, dict[str, Any]]:
    """The whole answer as a ``chat.completion``, or an error body with its status."""
    collected = _Collected()
    async for event in turn.events():
        collected.take(event)
    if collected.error is not None:
        status = 429 if collected.error.code in ("budget_exceeded", "model_rate_limited") else 502
        return status, _error_body(collected.error)
    return 200, {
        "id": f"chatcmpl-{turn.message_id}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": MODEL_ID,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": collected.text, "refusal": None},
                "finish_reason": collected.finish_reason,
                "logprobs": None,
            }
        ],
        "usage": collected.usage_json(),
        "system_fingerprint": None,
        "marketscope": collected.extension(),
    }


def _frame(body: dict[str, Any]) -> bytes:
    return f"data: {json.dumps(body, separators=(',', ':'))}\n\n".encode()


async def completion_chunks(turn: PreparedTurn, *, include_usage: bool) -> AsyncIterator[bytes]:
    """``chat.completion.chunk`` frames as the answer is written."""
    created = int(time.time())
    base = {
        "id": f"chatcmpl-{turn.message_id}",
        "object": "chat.completion.chunk",
        "created": created,
        "model": MODEL_ID,
        "system_fingerprint": None,
    }

    def chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
        choice = {"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}
        return _frame({**base, "choices": [choice]})

    collected = _Collected()
    yield chunk({"role": "assistant", "content": ""})
    async for event in turn.events():
        collected.take(event)
        if isinstance(event, MessageDelta):
            yield chunk({"content": event.text})
    if collected.error is not None:
        yield _frame(_error_body(collected.error))
        return
    yield chunk({}, collected.finish_reason)
    if include_usage:
        yield _frame(
            {
                **base,
                "choices": [],
                "usage": collected.usage_json(),
                "marketscope": collected.extension(),
            }
        )
    yield b"data: [DONE]\n\n"
