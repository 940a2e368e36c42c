"""The report's narrative: the configured model (or the offline engine) writes it from
the facts alone, handed over as the result of an ``analysis_facts`` call, and the
narrative is grounded against those facts as a chat answer is against its tool results.

Before the call, the owner's budget must have room for the prompt and the longest
answer allowed; the call's usage is charged as soon as it returns.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from marketscope_chat.grounding import GroundingReport, GroundingSource, ground
from marketscope_chat.llm.base import ChatModel, Message, ModelReply, ModelRequest, ToolSpec, Usage
from marketscope_chat.llm.offline.narrative import FACTS_TOOL
from marketscope_chat.llm.tokens import count_tokens, messages_tokens
from marketscope_chat.prompts import ANALYSIS_PROMPT, analysis_request
from marketscope_chat.spending import Spending, record_model_call
from marketscope_servicekit import MetricsRecorder

FACTS_CALL_ID = "facts"
FACTS_SPEC = ToolSpec(
    FACTS_TOOL,
    "The facts of the analysis report, computed by code from market data and documents.",
    {"type": "object", "properties": {}},
)


@dataclass(frozen=True, slots=True)
class Narrative:
    text: str
    provider: str
    model: str
    usage: Usage
    cost_usd: float
    grounding: GroundingReport
    duration_ms: float


def narrative_request(facts: dict[str, Any], answer_tokens: int) -> ModelRequest:
    question = facts.get("question")
    messages: list[Message] = [
        {"role": "system", "content": ANALYSIS_PROMPT},
        {
            "role": "user",
            "content": analysis_request(str(facts["kind"]), facts["symbols"], question),
        },
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": FACTS_CALL_ID,
                    "type": "function",
                    "function": {"name": FACTS_TOOL, "arguments": "{}"},
                }
            ],
        },
        {
            "role": "tool",
            "tool_call_id": FACTS_CALL_ID,
            "content": json.dumps(facts, ensure_ascii=False, separators=(",", ":")),
        },
    ]
    # The facts are in hand: the model writes, it calls nothing.
    return ModelRequest(messages, (FACTS_SPEC,), tool_choice="none", max_tokens=answer_tokens)


def needed_usage(request: ModelRequest) -> Usage:
    """What the call may cost at most: its prompt and the longest answer allowed."""
    prompt = messages_tokens(request.messages) + count_tokens(
        json.dumps([tool.as_openai() for tool in request.tools])
    )
    return Usage(prompt, request.max_tokens or 0, estimated=True)


class NarrativeWriter:
    def __init__(self, spending: Spending, metrics: MetricsRecorder, *, answer_tokens: int) -> None:
        self._spending = spending
        self._metrics = metrics
        self._answer_tokens = answer_tokens

    async def write(self, model: ChatModel, owner: str, facts: dict[str, Any]) -> Narrative:
        """Raises `BudgetExceeded` before calling the model when the call would not fit
        in the owner's day, and the model's `ModelError` when the call fails."""
        request = narrative_request(facts, self._answer_tokens)
        await self._spending.check(owner, needs=needed_usage(request), model=model.model)
        started = time.perf_counter()
        reply: ModelReply | None = None
        async for event in model.stream(request):
            if isinstance(event, ModelReply):
                reply = event
        duration_ms = (time.perf_counter() - started) * 1000
        assert reply is not None, "a model stream ends with its reply"
        usage = reply.usage or Usage(
            needed_usage(request).prompt_tokens, count_tokens(reply.text), estimated=True
        )
        cost = await self._spending.charge(owner, model.model, usage)
        record_model_call(self._metrics, model.model, usage, duration_ms, cost)
        sources = [GroundingSource(call_id=FACTS_CALL_ID, tool=FACTS_TOOL, data=facts)]
        return Narrative(
            text=reply.text,
            provider=model.provider,
            model=reply.model or model.model,
            usage=usage,
            cost_usd=cost,
            grounding=ground(reply.text, sources, question=str(facts.get("question") or "")),
            duration_ms=duration_ms,
        )
