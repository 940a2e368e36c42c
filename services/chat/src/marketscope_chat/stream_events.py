"""The events of one answer as it is written: the ``text/event-stream`` vocabulary.

Each is sent as ``event: <type>`` with its JSON as ``data``. A turn always begins with
``message.started`` and ends with ``message.completed`` or ``error`` (after which nothing
follows). The JSON Schemas of these models are committed under
``tests/contract/chat/`` and checked by the gateway's contract tests.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter


class _Event(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    conversation_id: str | None = Field(
        description="The conversation, or null for a completion that keeps none"
    )
    message_id: str = Field(description="The assistant message being written")


class MessageStarted(_Event):
    type: Literal["message.started"] = "message.started"
    model: str
    provider: str
    offline: bool = Field(description="True when the offline engine writes the answer")


class MessageDelta(_Event):
    type: Literal["message.delta"] = "message.delta"
    text: str


class ToolCallStarted(_Event):
    type: Literal["tool_call.started"] = "tool_call.started"
    call_id: str
    name: str
    arguments: dict[str, Any] | None = Field(description="null when the model wrote no JSON")
    round: int = Field(ge=1)


class ToolCallCompleted(_Event):
    type: Literal["tool_call.completed"] = "tool_call.completed"
    call_id: str
    name: str
    arguments: dict[str, Any] | None
    duration_ms: float = Field(ge=0)
    ok: bool
    summary: str | None = Field(description="A short summary of the result when ok")
    error: str | None = Field(description="Why the tool failed when not ok")


class CitationEvent(_Event):
    type: Literal["citation"] = "citation"
    index: int = Field(ge=1, description="The [n] marker the answer uses")
    document_id: str
    filename: str
    chunk_id: str
    text: str
    score: float | None = None
    page: int | None = None


class GroundedNumberModel(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    text: str = Field(description="The number as the answer wrote it")
    value: float
    status: Literal["grounded", "ungrounded", "from_question"]
    call_id: str | None = Field(description="The tool call whose result holds it")
    tool: str | None


class Grounding(_Event):
    type: Literal["grounding"] = "grounding"
    numbers: list[GroundedNumberModel]
    grounded: int = Field(ge=0)
    ungrounded: int = Field(ge=0)
    corrected: bool = Field(description="True when the model was asked to fix ungrounded numbers")


class UsageEvent(_Event):
    type: Literal["usage"] = "usage"
    model: str
    prompt_tokens: int = Field(ge=0)
    completion_tokens: int = Field(ge=0)
    total_tokens: int = Field(ge=0)
    estimated: bool = Field(description="Counted with a tokenizer: the provider sent no usage")
    cost_usd: float = Field(ge=0)
    model_calls: int = Field(ge=0)


class MessageCompleted(_Event):
    type: Literal["message.completed"] = "message.completed"
    text: str
    finish_reason: Literal["stop", "max_rounds", "length"]
    rounds: int = Field(ge=0)


class ErrorEvent(_Event):
    type: Literal["error"] = "error"
    code: Literal[
        "budget_exceeded", "model_rate_limited", "model_unavailable", "model_timeout", "internal"
    ]
    detail: str
    retry_after: float | None = Field(default=None, description="Seconds, when known")


TurnEvent = Annotated[
    MessageStarted
    | MessageDelta
    | ToolCallStarted
    | ToolCallCompleted
    | CitationEvent
    | Grounding
    | UsageEvent
    | MessageCompleted
    | ErrorEvent,
    Field(discriminator="type"),
]
TURN_EVENT: TypeAdapter[TurnEvent] = TypeAdapter(TurnEvent)
EVENT_MODELS: tuple[type[_Event], ...] = (
    MessageStarted,
    MessageDelta,
    ToolCallStarted,
    ToolCallCompleted,
    CitationEvent,
    Grounding,
    UsageEvent,
    MessageCompleted,
    ErrorEvent,
)


def sse_frame(event: _Event) -> bytes:
    """One server-sent event: its type as ``event:``, its JSON as one ``data:`` line."""
    kind = event.model_dump()["type"]
    return f"event: {kind}\ndata: {event.model_dump_json()}\n\n".encode()


def json_schema() -> dict[str, Any]:
    """The JSON Schema every streamed event's ``data`` validates against (one of the
    event models, told apart by ``type``)."""
    schema: dict[str, Any] = TURN_EVENT.json_schema()
    schema["title"] = "MarketScope chat stream event"
    return schema
