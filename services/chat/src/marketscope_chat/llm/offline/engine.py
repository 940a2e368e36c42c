"""The offline engine itself: plan while calls are needed, then write."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator

from marketscope_chat.grounding import extract_numbers
from marketscope_chat.llm.base import (
    ChatModel,
    ModelEvent,
    ModelReply,
    ModelRequest,
    TextDelta,
    ToolCall,
    Usage,
)
from marketscope_chat.llm.offline.narrative import FACTS_TOOL, narrative_lines
from marketscope_chat.llm.offline.planning import plan
from marketscope_chat.llm.offline.reading import (
    CAPABILITIES,
    MAX_ROUNDS,
    MODEL,
    OFFLINE_NOTE,
    Turn,
    call_key,
    content_text,
)
from marketscope_chat.llm.offline.writing import CLAUSE, split_sentences, write_answer
from marketscope_chat.llm.tokens import count_tokens, messages_tokens

# --- the engine -------------------------------------------------------------------------


class OfflineEngine(ChatModel):
    """Plans tool calls and writes answers from their results, with no model behind it."""

    provider = "offline"
    model = MODEL
    capabilities = CAPABILITIES

    async def stream(self, request: ModelRequest) -> AsyncIterator[ModelEvent]:
        prompt = _prompt_tokens(request)
        corrected = correction(request)
        if corrected is not None:
            async for event in self._answer(corrected, prompt):
                yield event
            return
        turn = Turn.of(request.messages)
        facts = next((o.result for o in turn.outcomes if o.name == FACTS_TOOL), None)
        if isinstance(facts, dict):
            narrative = "\n\n".join([OFFLINE_NOTE, *narrative_lines(facts)])
            async for event in self._answer(narrative, prompt):
                yield event
            return
        wanted = plan(turn, request.tools)
        made = turn.made()
        pending = [(name, args) for name, args in wanted.calls if call_key(name, args) not in made]
        planning = (
            pending
            and request.tool_choice != "none"
            and turn.last_role in ("user", "tool")
            and turn.rounds < MAX_ROUNDS
        )
        if planning:
            round_number = turn.rounds + 1
            calls = tuple(
                ToolCall(f"offline-{round_number}-{n}", name, json.dumps(args))
                for n, (name, args) in enumerate(pending, start=1)
            )
            completion = sum(count_tokens(c.name) + count_tokens(c.arguments) for c in calls)
            yield ModelReply(
                text="",
                tool_calls=calls,
                usage=Usage(prompt, completion, estimated=False),
                finish_reason="tool_calls",
                model=self.model,
            )
            return
        async for event in self._answer(write_answer(turn, wanted.notes), prompt):
            yield event

    async def _answer(self, text: str, prompt: int) -> AsyncIterator[ModelEvent]:
        for piece in split_sentences(text):
            yield TextDelta(piece)
        yield ModelReply(
            text=text,
            usage=Usage(prompt, count_tokens(text), estimated=False),
            finish_reason="stop",
            model=self.model,
        )


def correction(request: ModelRequest) -> str | None:
    """The answer again without the sentences holding the numbers the user's message
    names, when the request asks for a rewrite: a final answer (``tool_choice="none"``)
    to a user message that follows the engine's own answer. This is how the tool loop
    asks to correct ungrounded numbers; the engine cannot look them up anew, so it
    leaves them out. None for any other request."""
    messages = request.messages
    if request.tool_choice != "none" or len(messages) < 2:
        return None
    answer, ask = messages[-2], messages[-1]
    previous = content_text(answer.get("content"))
    if answer.get("role") != "assistant" or ask.get("role") != "user" or not previous:
        return None
    named = {mention.value for mention in extract_numbers(content_text(ask.get("content")))}
    return _without_numbers(previous, named)


def _without_numbers(text: str, values: set[float]) -> str:
    """``text`` without the clauses that state one of ``values``; a list item left with
    nothing after its label goes too."""
    lines = []
    for line in text.split("\n"):
        clauses = [clause for clause in CLAUSE.findall(line) if clause]
        kept = [c for c in clauses if not any(m.value in values for m in extract_numbers(c))]
        if len(kept) == len(clauses):
            lines.append(line)
            continue
        shortened = "".join(kept).rstrip()
        if shortened.endswith(":") and line.lstrip().startswith("- "):
            continue
        if shortened.endswith((",", ";", ":")):
            shortened = shortened[:-1] + "."
        if shortened.strip(" -*"):
            lines.append(shortened)
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def _prompt_tokens(request: ModelRequest) -> int:
    tokens = messages_tokens(request.messages)
    if request.tools:
        tokens += count_tokens(json.dumps([tool.as_openai() for tool in request.tools]))
    return tokens
