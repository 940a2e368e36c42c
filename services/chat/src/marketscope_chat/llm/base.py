"""The provider port: one interface every model backend answers through.

Messages are OpenAI chat messages (``{"role": ..., "content": ..., "tool_calls": ...}``):
every adapter speaks that wire format, and the offline engine reads the same shape, so
the tool loop (`marketscope_chat.turns`) is one loop for all of them.

A model call is ``async for event in model.stream(messages, tools)``: zero or more
`TextDelta` as the text arrives, then exactly one `ModelReply` with the whole answer of
that call (its text, the tool calls collected from the stream, the usage). The loop
decides "tool round" from ``ModelReply.tool_calls``, never from ``finish_reason``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

Message = dict[str, Any]
ProviderName = Literal["offline", "openai", "azure", "compatible"]


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What a provider/model pair supports; the loop adapts its requests to it."""

    tool_choice: bool
    parallel_tool_calls: bool
    include_usage: bool
    context_tokens: int


@dataclass(frozen=True, slots=True)
class ToolSpec:
    """A tool as the model sees it: ``parameters`` is a JSON Schema object."""

    name: str
    description: str
    parameters: dict[str, Any]

    def as_openai(self) -> dict[str, Any]:
        return {
            "type": "function",
            "function": {
                "name": self.name,
                "description": self.description,
                "parameters": self.parameters,
            },
        }


@dataclass(frozen=True, slots=True)
class ToolCall:
    """One call the model asked for; ``arguments`` is the JSON text it wrote."""

    id: str
    name: str
    arguments: str


@dataclass(frozen=True, slots=True)
class Usage:
    prompt_tokens: int
    completion_tokens: int
    estimated: bool = False  # counted with a tokenizer: the server reported none

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


@dataclass(frozen=True, slots=True)
class TextDelta:
    text: str


@dataclass(frozen=True, slots=True)
class ModelReply:
    """The whole answer of one model call."""

    text: str
    tool_calls: tuple[ToolCall, ...] = ()
    usage: Usage | None = None
    finish_reason: str | None = None
    model: str = ""


ModelEvent = TextDelta | ModelReply


@dataclass(frozen=True, slots=True)
class ModelRequest:
    messages: Sequence[Message]
    tools: Sequence[ToolSpec] = ()
    # "none" asks for a final answer (used when the round limit is reached).
    tool_choice: Literal["auto", "none"] = "auto"
    max_tokens: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class ModelError(Exception):
    """A model call failed; ``retry_after`` (seconds) when the provider said when."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ModelRateLimited(ModelError):
    """The provider answered 429."""


class ModelTimeout(ModelError):
    """The provider did not answer (or stopped streaming) in time."""


class ModelUnavailable(ModelError):
    """The provider could not be reached or answered 5xx."""


class ChatModel(ABC):
    """One configured model of one provider."""

    provider: ProviderName
    model: str  # the name reported in usage and metrics (Azure: the deployment)
    capabilities: Capabilities

    @abstractmethod
    def stream(self, request: ModelRequest) -> AsyncIterator[ModelEvent]:
        """Text deltas as they arrive, then one `ModelReply`. Raises `ModelError`."""

    async def aclose(self) -> None:  # noqa: B027 - adapters without resources keep this
        """Release the adapter's HTTP client."""
