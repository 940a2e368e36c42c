"""The offline engine: the model the chat answers with when no LLM is configured.

No key, no network, deterministic. It speaks the same port as the hosted adapters, so
the tool loop runs unchanged: given the conversation it either plans tool calls or
writes an answer from the turn's tool results.

- **Planning** (the last message is the user's, or tool results that call for a
  follow-up): the question is read for tickers (upper-case symbols, ``$aapl``, company
  names from `ALIASES`, the market as ``^GSPC``) and intents (`INTENTS`), and every call
  that does not depend on another is asked for in the same round. "Risk of my watchlist"
  takes two: the watchlist first, then risk of its symbols.
- **Writing**: templates filled only with values from the tool results (the JSON the
  model is shown, matched to its call by ``tool_call_id``). Numbers are written as the
  results hold them, rounded to two decimals (four below 0.1) or, for the fractions of
  risk metrics, as a percent with two decimals: the grounding check accepts both and
  nothing is computed from them. A tool error is reported as such, never replaced. The
  first answer of a turn opens with `OFFLINE_NOTE`; a question it cannot place gets
  `help_text`.

A turn is the messages after the user's last one; only that message is read, so a
follow-up such as "and MSFT?" is read on its own.

Usage is counted with cl100k (`marketscope_chat.llm.tokens`) and marked exact
(``estimated=False``): the engine has no tokenizer of its own, so the count of what it
read and wrote in cl100k is its usage by definition, not a guess at another's count.

The package: `reading` (the question and the results), `planning` (which calls),
`writing` (the templates), `engine` (the `ChatModel`).
"""

from __future__ import annotations

from marketscope_chat.llm.offline.engine import OfflineEngine, correction
from marketscope_chat.llm.offline.planning import NO_FUNDAMENTALS, Plan, plan
from marketscope_chat.llm.offline.reading import (
    ALIASES,
    BENCHMARK,
    INTENTS,
    OFFLINE_NOTE,
    REPLAY_SYMBOLS,
    Question,
    Turn,
)
from marketscope_chat.llm.offline.writing import help_text, split_sentences, write_answer

__all__ = [
    "ALIASES",
    "BENCHMARK",
    "INTENTS",
    "NO_FUNDAMENTALS",
    "OFFLINE_NOTE",
    "REPLAY_SYMBOLS",
    "OfflineEngine",
    "Plan",
    "Question",
    "Turn",
    "correction",
    "help_text",
    "plan",
    "split_sentences",
    "write_answer",
]
