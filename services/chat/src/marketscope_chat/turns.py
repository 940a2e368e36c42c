"""One turn of the analyst: the tool loop every provider runs through.

Round after round the model is called with the conversation so far and the tools; when it
asks for tools (decided by whether tool calls were collected, never by
``finish_reason``: models say "stop" with tool calls), all calls of the round run
concurrently, their results are appended and the model is called again, until it
answers without tools or ``max_rounds`` is reached (then one last call with
``tool_choice="none"`` asks for the answer). Each model call is charged as it returns and
the budget is checked before the next. The answer's numbers are then matched against
this turn's tool results (`grounding`), and once, if the settings say so, the model is
asked to correct the ones no tool gave.

`Turn.events()` yields the ``text/event-stream`` vocabulary (`stream_events`); when it
is exhausted, `Turn.outcome` holds what the conversation stores. Cancelling the consumer
(the client went away) cancels the model call and the running tools with it.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from marketscope_chat.errors import BudgetExceeded
from marketscope_chat.grounding import GroundingReport, GroundingSource, ground
from marketscope_chat.llm.base import (
    ChatModel,
    Message,
    ModelError,
    ModelRateLimited,
    ModelReply,
    ModelRequest,
    ModelTimeout,
    TextDelta,
    Usage,
)
from marketscope_chat.prompts import correction_request
from marketscope_chat.spending import Spending, record_model_call
from marketscope_chat.stream_events import (
    CitationEvent,
    ErrorEvent,
    GroundedNumberModel,
    Grounding,
    MessageCompleted,
    MessageDelta,
    MessageStarted,
    ToolCallCompleted,
    ToolCallStarted,
    TurnEvent,
    UsageEvent,
)
from marketscope_chat.tools.base import Citation, ToolContext
from marketscope_chat.tools.toolbox import Toolbox, ToolResult
from marketscope_servicekit import Identity, MetricsRecorder

FinishReason = Literal["stop", "max_rounds", "length", "error"]


@dataclass(frozen=True, slots=True)
class TurnSettings:
    max_rounds: int = 6
    correct_ungrounded: bool = False
    answer_tokens: int | None = None


@dataclass
class TurnOutcome:
    """What the turn produced, for the conversation's stream."""

    text: str = ""
    finish_reason: FinishReason = "error"
    error: str | None = None
    rounds: int = 0
    usage: Usage = field(default_factory=lambda: Usage(0, 0))
    model_calls: int = 0
    cost_usd: float = 0.0
    tool_results: list[tuple[int, ToolResult]] = field(default_factory=list)
    grounding: GroundingReport | None = None
    citations: list[tuple[int, Citation]] = field(default_factory=list)


def _cited(text: str, citations: Sequence[Citation]) -> list[tuple[int, Citation]]:
    return [(c.index, c) for c in citations if f"[{c.index}]" in text]


class Turn:
    def __init__(
        self,
        model: ChatModel,
        toolbox: Toolbox,
        spending: Spending,
        metrics: MetricsRecorder,
        settings: TurnSettings,
        *,
        identity: Identity,
        conversation_id: str | None,
        message_id: str,
        messages: Sequence[Message],
        question: str,
    ) -> None:
        self._model = model
        self._toolbox = toolbox
        self._spending = spending
        self._metrics = metrics
        self._settings = settings
        self._identity = identity
        self.conversation_id = conversation_id
        self.message_id = message_id
        self._ids: dict[str, Any] = {"conversation_id": conversation_id, "message_id": message_id}
        self._messages: list[Message] = list(messages)
        self._question = question
        self.outcome = TurnOutcome()

    @property
    def provider(self) -> str:
        return self._model.provider

    @property
    def model(self) -> str:
        return self._model.model

    async def events(self) -> AsyncIterator[TurnEvent]:
        yield MessageStarted(
            **self._ids,
            model=self._model.model,
            provider=self._model.provider,
            offline=self._model.provider == "offline",
        )
        try:
            async for event in self._rounds():
                yield event
        except BudgetExceeded as exc:
            yield self._failed("budget_exceeded", str(exc), exc.headers.get("Retry-After"))
        except ModelRateLimited as exc:
            yield self._failed("model_rate_limited", str(exc), exc.retry_after)
        except ModelTimeout as exc:
            yield self._failed("model_timeout", str(exc), None)
        except ModelError as exc:
            yield self._failed("model_unavailable", str(exc), exc.retry_after)
        if self.outcome.model_calls:
            yield self._usage_event()
        if self.outcome.error is None:
            reason = self.outcome.finish_reason
            yield MessageCompleted(
                **self._ids,
                text=self.outcome.text,
                finish_reason="stop" if reason == "error" else reason,
                rounds=self.outcome.rounds,
            )

    def _failed(self, code: Any, detail: str, retry_after: Any) -> ErrorEvent:
        self.outcome.finish_reason = "error"
        self.outcome.error = detail
        seconds = float(retry_after) if retry_after is not None else None
        return ErrorEvent(**self._ids, code=code, detail=detail, retry_after=seconds)

    async def _call(self, request: ModelRequest) -> AsyncIterator[TextDelta | ModelReply]:
        await self._spending.check(self._identity.user_id)
        started = time.perf_counter()
        reply: ModelReply | None = None
        try:
            async for event in self._model.stream(request):
                if isinstance(event, ModelReply):
                    reply = event
                yield event
        finally:
            if reply is not None:
                await self._account(reply, (time.perf_counter() - started) * 1000)

    async def _account(self, reply: ModelReply, latency_ms: float) -> None:
        usage = reply.usage or Usage(0, 0, estimated=True)
        model = self._model.model
        cost = await self._spending.charge(self._identity.user_id, model, usage)
        total = self.outcome.usage
        self.outcome.usage = Usage(
            total.prompt_tokens + usage.prompt_tokens,
            total.completion_tokens + usage.completion_tokens,
            estimated=total.estimated or usage.estimated,
        )
        self.outcome.cost_usd += cost
        self.outcome.model_calls += 1
        record_model_call(self._metrics, model, usage, latency_ms, cost)

    async def _rounds(self) -> AsyncIterator[TurnEvent]:
        tools = self._toolbox.specs()
        next_citation = 1
        text_parts: list[str] = []
        for round_number in range(1, self._settings.max_rounds + 2):
            final = round_number > self._settings.max_rounds
            request = ModelRequest(
                self._messages,
                tools=tools,
                tool_choice="none" if final else "auto",
                max_tokens=self._settings.answer_tokens,
            )
            reply: ModelReply | None = None
            async for event in self._call(request):
                if isinstance(event, TextDelta):
                    if event.text:
                        yield MessageDelta(**self._ids, text=event.text)
                else:
                    reply = event
            assert reply is not None, "a model stream ends with its reply"
            self.outcome.rounds = round_number
            if reply.text:
                text_parts.append(reply.text)
            if final or not reply.tool_calls:
                self.outcome.finish_reason = _finish(reply, final=final)
                break
            self._messages.append(
                {
                    "role": "assistant",
                    "content": reply.text or None,
                    "tool_calls": [
                        {
                            "id": call.id,
                            "type": "function",
                            "function": {"name": call.name, "arguments": call.arguments},
                        }
                        for call in reply.tool_calls
                    ],
                }
            )
            for call in reply.tool_calls:
                yield ToolCallStarted(
                    **self._ids,
                    call_id=call.id,
                    name=call.name,
                    arguments=_arguments(call.arguments),
                    round=round_number,
                )
            context = ToolContext(identity=self._identity, citation_start=next_citation)
            results = await self._toolbox.run_all(reply.tool_calls, context)
            for result in results:
                if result.output is not None and result.output.citations:
                    last = max(c.index for c in result.output.citations)
                    next_citation = max(next_citation, last + 1)
            for result in results:
                self.outcome.tool_results.append((round_number, result))
                self._messages.append(result.message_for_model())
                yield ToolCallCompleted(
                    **self._ids,
                    call_id=result.call.id,
                    name=result.call.name,
                    arguments=result.arguments,
                    duration_ms=result.duration_ms,
                    ok=result.ok,
                    summary=result.output.summary if result.output else None,
                    error=result.error,
                )
        self.outcome.text = "".join(text_parts)
        async for grounded in self._grounded():
            yield grounded

    def _sources(self) -> list[GroundingSource]:
        return [
            GroundingSource(call_id=r.call.id, tool=r.call.name, data=r.output.data)
            for _, r in self.outcome.tool_results
            if r.output is not None
        ]

    async def _grounded(self) -> AsyncIterator[TurnEvent]:
        sources = self._sources()
        report = ground(self.outcome.text, sources, question=self._question)
        corrected = False
        if report.ungrounded and self._settings.correct_ungrounded:
            corrected = True
            self._messages += [
                {"role": "assistant", "content": self.outcome.text},
                {"role": "user", "content": correction_request(report.ungrounded_texts)},
            ]
            request = ModelRequest(self._messages, tools=(), tool_choice="none")
            reply: ModelReply | None = None
            async for event in self._call(request):
                if isinstance(event, ModelReply):
                    reply = event
            if reply is not None and reply.text:
                self.outcome.text = reply.text
                report = ground(self.outcome.text, sources, question=self._question)
        self.outcome.grounding = report
        yield Grounding(
            **self._ids,
            numbers=[
                GroundedNumberModel(
                    text=n.text, value=n.value, status=n.status, call_id=n.call_id, tool=n.tool
                )
                for n in report.numbers
            ],
            grounded=report.grounded,
            ungrounded=report.ungrounded,
            corrected=corrected,
        )
        for _, result in self.outcome.tool_results:
            if result.output is not None and result.output.citations:
                for index, citation in _cited(self.outcome.text, result.output.citations):
                    self.outcome.citations.append((index, citation))
                    yield CitationEvent(
                        **self._ids,
                        index=index,
                        document_id=citation.document_id,
                        filename=citation.filename,
                        chunk_id=citation.chunk_id,
                        text=citation.text,
                        score=citation.score,
                        page=citation.page,
                    )

    def _usage_event(self) -> UsageEvent:
        usage = self.outcome.usage
        return UsageEvent(
            **self._ids,
            model=self._model.model,
            prompt_tokens=usage.prompt_tokens,
            completion_tokens=usage.completion_tokens,
            total_tokens=usage.total_tokens,
            estimated=usage.estimated,
            cost_usd=round(self.outcome.cost_usd, 8),
            model_calls=self.outcome.model_calls,
        )


def _finish(reply: ModelReply, *, final: bool) -> FinishReason:
    if final:
        return "max_rounds"
    return "length" if reply.finish_reason == "length" else "stop"


def _arguments(text: str) -> dict[str, Any] | None:
    try:
        value = json.loads(text) if text else {}
    except ValueError:
        return None
    return value if isinstance(value, dict) else None
