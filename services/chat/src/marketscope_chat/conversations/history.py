"""What a model is shown of a conversation's past: whole turns, newest kept first.

Each finished turn becomes the messages the model saw when it was written: the user's
question, each round's assistant message with its tool calls followed by every tool
result of that round, and the answer. A turn is kept or dropped whole, so a tool call is
never separated from its result (providers reject such a history). Turns that never
finished (the client left, the model failed) contribute their question only when they
fit, without an answer.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from itertools import groupby

from marketscope_chat.conversations.state import ConversationState, MessageEntry, ToolCallEntry
from marketscope_chat.llm.base import Message
from marketscope_chat.llm.tokens import messages_tokens


def _round_messages(calls: Sequence[ToolCallEntry]) -> list[Message]:
    messages: list[Message] = []
    for _, round_calls in groupby(calls, key=lambda call: call.round):
        batch = list(round_calls)
        messages.append(
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": call.call_id,
                        "type": "function",
                        "function": {"name": call.name, "arguments": call.arguments},
                    }
                    for call in batch
                ],
            }
        )
        messages.extend(
            {
                "role": "tool",
                "tool_call_id": call.call_id,
                "content": call.result
                if call.ok and call.result
                else json.dumps({"error": call.error or "no result"}),
            }
            for call in batch
        )
    return messages


def turn_messages(question: MessageEntry, answer: MessageEntry | None) -> list[Message]:
    messages: list[Message] = [{"role": "user", "content": question.content}]
    if answer is None:
        return messages
    messages.extend(_round_messages(answer.tool_calls))
    messages.append({"role": "assistant", "content": answer.content})
    return messages


def history_within(state: ConversationState | None, budget_tokens: int) -> list[Message]:
    """The past turns, oldest first, cut from the oldest end to fit ``budget_tokens``."""
    if state is None or budget_tokens <= 0:
        return []
    kept: list[list[Message]] = []
    used = 0
    for question, answer in reversed(state.turns()):
        messages = turn_messages(question, answer)
        cost = messages_tokens(messages)
        if used + cost > budget_tokens:
            break  # older turns would not fit either: keep the history contiguous
        kept.append(messages)
        used += cost
    return [message for turn in reversed(kept) for message in turn]
