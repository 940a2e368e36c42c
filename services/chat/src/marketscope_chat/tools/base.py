"""The tool port: typed functions the model may call, each with a JSON Schema taken
from its pydantic arguments.

A tool returns a `ToolOutput`: the full result (kept for grounding and for the stored
conversation), the text the model sees (trimmed to a token budget), a one-line summary
for the ``tool_call.completed`` event, and any citations. Tools call the other services
as the user: `ToolContext.identity` is the gateway-signed identity the chat request came
with.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar, Generic, TypeVar

from pydantic import BaseModel

from marketscope_chat.llm.base import ToolSpec
from marketscope_servicekit import Identity

ArgsT = TypeVar("ArgsT", bound=BaseModel)


@dataclass(frozen=True, slots=True)
class Citation:
    """A document passage a tool result rests on."""

    document_id: str
    filename: str
    chunk_id: str
    text: str
    score: float | None = None
    page: int | None = None
    index: int = 1  # the [n] the model was shown for it


@dataclass(frozen=True, slots=True)
class ToolContext:
    identity: Identity
    traceparent: str | None = None
    # The first [n] a citing tool numbers its passages from: every search of a turn
    # numbers on from the last, so one [n] never names two passages.
    citation_start: int = 1


@dataclass(frozen=True, slots=True)
class ToolOutput:
    data: Any  # the full result, JSON-serialisable
    for_model: str  # what the model is shown (JSON text, within the token budget)
    summary: str
    citations: tuple[Citation, ...] = field(default_factory=tuple)


class ToolFailed(Exception):
    """A tool could not answer; the message goes back to the model as the tool's result."""


class Tool(ABC, Generic[ArgsT]):
    name: ClassVar[str]
    description: ClassVar[str]
    arguments: ClassVar[type[BaseModel]]

    def spec(self) -> ToolSpec:
        return ToolSpec(self.name, self.description, self.arguments.model_json_schema())

    def citation_slots(self, args: ArgsT) -> int:
        """How many [n] numbers a call with ``args`` may take (0: it cites nothing)."""
        return 0

    @abstractmethod
    async def run(self, args: ArgsT, context: ToolContext) -> ToolOutput:
        """The result, or `ToolFailed` saying why not."""
