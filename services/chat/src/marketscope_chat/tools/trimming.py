"""Fitting a tool result into the tokens the model is given for it.

What the model sees is compact JSON of the result with nothing rounded or rewritten: the
answer's numbers are later checked against the tool results, so a value the model reads
must be one the service sent. What gives way is the length of a list (the oldest bars of
a history, the lowest-ranked passages of a search), never a number in it.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from typing import Any, Literal, TypeVar

from marketscope_chat.llm.tokens import count_tokens

logger = logging.getLogger(__name__)

T = TypeVar("T")


def compact(value: Any) -> str:
    """``value`` as JSON without spaces (tokens are the model's budget)."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def render(value: Any, budget: int, *, tool: str) -> str:
    """``value`` in full. The tools that use it have results bounded by their arguments
    (a quote, a profile, risk of at most 20 symbols), with budgets sized to them; one
    that still overflows is shown whole rather than cut into invalid JSON, and logged."""
    text = compact(value)
    tokens = count_tokens(text)
    if tokens > budget:
        logger.warning("%s result takes %d tokens, over its budget of %d", tool, tokens, budget)
    return text


def fit_list(
    frame: Callable[[list[T]], Any],
    items: Sequence[T],
    budget: int,
    *,
    keep: Literal["head", "tail"] = "head",
) -> tuple[str, int]:
    """Compact JSON of ``frame(kept)`` for the longest run of ``items`` (the first ones
    for ``head``, the last ones for ``tail``) whose JSON fits ``budget`` tokens, and how
    many items were kept. When not even an empty list fits, ``frame([])`` is shown.

    A binary search over the count, started from an estimate: each item's own JSON is
    counted once (small texts, cheap), which bounds how many can fit; only a text that
    was measured whole to fit is ever returned.
    """

    def text_of(count: int) -> str:
        if keep == "head":
            kept = list(items[:count])
        else:
            kept = list(items[len(items) - count :]) if count else []
        return compact(frame(kept))

    empty = text_of(0)
    room = budget - count_tokens(empty)
    ordered = list(items) if keep == "head" else list(reversed(items))
    # Counted apart, items take about what they take joined (a token for each comma
    # between them is allowed for): the estimate is within an item or two of the most
    # that fit, and the search below keeps only a count measured to fit.
    estimate, used = 0, 0
    for item in ordered:
        used += count_tokens(compact(item))
        if used - estimate > room:
            break
        estimate += 1
    full = text_of(estimate)
    if estimate == len(items) and count_tokens(full) <= budget:
        return full, estimate
    best_text, best = empty, 0
    low, high = 1, estimate
    while low <= high:
        middle = (low + high) // 2
        text = full if middle == estimate else text_of(middle)
        if count_tokens(text) <= budget:
            best_text, best = text, middle
            low = middle + 1
        else:
            high = middle - 1
    return best_text, best
