"""Grounding an answer's numbers in the tool results of its turn.

Every number `extract_numbers` finds in the answer is looked for among the numbers of
the turn's tool results (each a `GroundingSource`: one call's full JSON result).

Candidates, collected once per source into a sorted list (a lookup is two bisections):

- every numeric leaf: JSON numbers (not booleans) and numeric strings (``"187.20"``);
- every number stated inside a string leaf (a document passage, a company name such as
  ``"S&P 500 Index"``, an error message), read by `stated_values`, so that a passage
  quoted in the answer grounds the numbers it holds whatever the words around it. Dict
  keys are names, not values, and are skipped.

A mention matches a candidate when they are equal after rounding the candidate to the
decimal places the mention was written with (``187.2049`` grounds ``187.20``, ``187.2``
and ``187``), at the mention's magnitude (``1_200_000_000`` grounds ``1.2B`` and
``1,200M``). A percent also matches a fraction (``0.0123`` grounds ``1.23%``). A mention
written without a sign also matches the candidate's absolute value ("fell 3.4%" for a
change of ``-3.4``); one written with a sign matches that sign only.

A mention no source holds but the question states ("S&P 500", "last 30 days") is
``from_question``, counted as neither grounded nor ungrounded.

Small integers get no exemption: "2 documents" needs a 2 in a result (or the question)
like any other number. Counts an answer makes up are as wrong as prices it makes up, and
a count the tools did report (``bars_total``, ``observations``) is in their results.
Being integers they match easily; that is the price of checking them at all.
"""

from __future__ import annotations

import math
import re
from bisect import bisect_left
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

from marketscope_chat.grounding.numbers import NumberMention, extract_numbers, stated_values

Status = Literal["grounded", "ungrounded", "from_question"]

_DATE_STRING = re.compile(
    r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+\-]\d{2}:?\d{2})?)?"
)
_NUMERIC_STRING = re.compile(r"\s*[+\-\u2212]?(?:\d{1,3}(?:,\d{3})+|\d*)(?:\.\d+)?\s*%?\s*")
# Float noise on top of the rounding half-step: 0.1 + 0.2 is still 0.3 to one decimal.
_RELATIVE_SLACK = 1e-9


@dataclass(frozen=True, slots=True)
class GroundingSource:
    """One tool call of the turn and its full result (not the trimmed text the model saw)."""

    call_id: str
    tool: str
    data: Any


@dataclass(frozen=True, slots=True)
class GroundedNumber:
    text: str
    value: float
    status: Status
    call_id: str | None = None
    tool: str | None = None


@dataclass(frozen=True, slots=True)
class GroundingReport:
    numbers: list[GroundedNumber]
    grounded: int
    ungrounded: int

    @property
    def ungrounded_texts(self) -> list[str]:
        return [number.text for number in self.numbers if number.status == "ungrounded"]

    @property
    def from_question(self) -> int:
        return sum(1 for number in self.numbers if number.status == "from_question")


class CandidateIndex:
    """The numbers one source holds, sorted for range lookups."""

    __slots__ = ("_values",)

    def __init__(self, values: Iterable[float]) -> None:
        self._values = sorted({value for value in values if math.isfinite(value)})

    @classmethod
    def of(cls, data: Any) -> CandidateIndex:
        return cls(_leaf_numbers(data))

    def __len__(self) -> int:
        return len(self._values)

    def holds(self, mention: NumberMention) -> bool:
        return any(self._within(target, tolerance) for target, tolerance in _targets(mention))

    def _within(self, target: float, tolerance: float) -> bool:
        index = bisect_left(self._values, target - tolerance)
        return index < len(self._values) and self._values[index] <= target + tolerance


def ground(
    answer: str, sources: Sequence[GroundingSource], *, question: str = ""
) -> GroundingReport:
    """Each number of ``answer``, with the first source (in call order) that holds it."""
    mentions = extract_numbers(answer)
    if not mentions:
        return GroundingReport(numbers=[], grounded=0, ungrounded=0)
    indexes = [(source, CandidateIndex.of(source.data)) for source in sources]
    asked = CandidateIndex(mention.value for mention in extract_numbers(question))
    numbers = [_grounded(mention, indexes, asked) for mention in mentions]
    return GroundingReport(
        numbers=numbers,
        grounded=sum(1 for number in numbers if number.status == "grounded"),
        ungrounded=sum(1 for number in numbers if number.status == "ungrounded"),
    )


def _grounded(
    mention: NumberMention,
    indexes: Sequence[tuple[GroundingSource, CandidateIndex]],
    asked: CandidateIndex,
) -> GroundedNumber:
    for source, index in indexes:
        if index.holds(mention):
            return GroundedNumber(
                mention.text, mention.value, "grounded", source.call_id, source.tool
            )
    status: Status = "from_question" if asked.holds(mention) else "ungrounded"
    return GroundedNumber(mention.text, mention.value, status)


def _targets(mention: NumberMention) -> Iterator[tuple[float, float]]:
    """The values a candidate may have to ground ``mention``, each with its tolerance."""
    half_step = 0.5 * 10.0 ** (-mention.decimals) * mention.scale
    forms = [(mention.value, half_step)]
    if mention.unit == "percent":
        forms.append((mention.value / 100.0, half_step / 100.0))
    for value, tolerance in forms:
        slack = tolerance * (1.0 + _RELATIVE_SLACK) + abs(value) * _RELATIVE_SLACK
        yield value, slack
        if not mention.signed and value != 0.0:
            yield -value, slack


def _leaf_numbers(data: Any) -> Iterator[float]:
    stack = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, bool) or item is None:
            continue
        if isinstance(item, int | float):
            yield float(item)
        elif isinstance(item, str):
            yield from _string_numbers(item)
        elif isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            stack.extend(item)


@lru_cache(maxsize=2048)
def _string_numbers(text: str) -> tuple[float, ...]:
    # Cached: the same strings recur across results and calls (bar dates, error texts).
    if not any(character.isdigit() for character in text) or _DATE_STRING.fullmatch(text):
        return ()
    if _NUMERIC_STRING.fullmatch(text):
        cleaned = text.strip().rstrip("%").replace(",", "").replace("\u2212", "-")
        return (float(cleaned),)
    return tuple(stated_values(text))
