"""Test doubles of the chat service: a model that answers from a script and records what
it was asked, and local tools whose results and delays a test chooses."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from pydantic import BaseModel

from marketscope_chat.llm.base import (
    Capabilities,
    ChatModel,
    ModelError,
    ModelEvent,
    ModelReply,
    ModelRequest,
    TextDelta,
    ToolCall,
    Usage,
)
from marketscope_chat.tools.base import Tool, ToolContext, ToolFailed, ToolOutput

CAPABLE = Capabilities(
    tool_choice=True, parallel_tool_calls=True, include_usage=True, context_tokens=16_000
)


def calls(*specs: tuple[str, dict[str, Any]]) -> tuple[ToolCall, ...]:
    return tuple(
        ToolCall(id=f"call_{i}", name=name, arguments=json.dumps(args))
        for i, (name, args) in enumerate(specs)
    )


@dataclass
class ScriptedModel(ChatModel):
    """Each call takes the next reply of ``script`` (a ModelReply, or an exception to
    raise); its text streams as word deltas first."""

    script: list[ModelReply | ModelError]
    provider: Any = "openai"
    model: str = "gpt-4o-mini"
    capabilities: Capabilities = CAPABLE
    requests: list[ModelRequest] = field(default_factory=list)
    delay: float = 0.0
    cancelled: asyncio.Event = field(default_factory=asyncio.Event)

    async def stream(self, request: ModelRequest) -> AsyncIterator[ModelEvent]:
        self.requests.append(request)
        step = self.script.pop(0)
        if isinstance(step, ModelError):
            raise step
        try:
            for word in re.findall(r"\S+\s*", step.text):
                await asyncio.sleep(self.delay)
                yield TextDelta(word)
        except asyncio.CancelledError:
            self.cancelled.set()
            raise
        yield ModelReply(
            text=step.text,
            tool_calls=step.tool_calls,
            usage=step.usage or Usage(100, 20),
            finish_reason=step.finish_reason,
            model=self.model,
        )


class EchoArgs(BaseModel):
    symbol: str


class PriceTool(Tool[EchoArgs]):
    """Answers a fixed price per symbol after ``delay`` seconds; unknown symbols fail."""

    name: ClassVar[str] = "quote"
    description: ClassVar[str] = "The latest price of a symbol."
    arguments: ClassVar[type[BaseModel]] = EchoArgs

    def __init__(self, prices: dict[str, float], delay: float = 0.0) -> None:
        self.prices = prices
        self.delay = delay
        self.seen: list[str] = []
        self.cancelled = 0

    async def run(self, args: EchoArgs, context: ToolContext) -> ToolOutput:
        self.seen.append(context.identity.user_id)
        try:
            await asyncio.sleep(self.delay)
        except asyncio.CancelledError:
            self.cancelled += 1
            raise
        if args.symbol not in self.prices:
            raise ToolFailed(f"no such symbol: {args.symbol}")
        data = {"symbol": args.symbol, "price": self.prices[args.symbol]}
        return ToolOutput(data=data, for_model=json.dumps(data), summary=f"{args.symbol} ok")


def texts(events: Sequence[Any]) -> str:
    return "".join(e.text for e in events if e.type == "message.delta")
