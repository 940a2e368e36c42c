"""Grounded numbers: every number an answer states, checked against the numbers of the
tool results of its turn (`ground`), read by the rules of `extract_numbers`."""

from __future__ import annotations

from marketscope_chat.grounding.matching import (
    CandidateIndex,
    GroundedNumber,
    GroundingReport,
    GroundingSource,
    Status,
    ground,
)
from marketscope_chat.grounding.numbers import NumberMention, Unit, extract_numbers, stated_values

__all__ = [
    "CandidateIndex",
    "GroundedNumber",
    "GroundingReport",
    "GroundingSource",
    "NumberMention",
    "Status",
    "Unit",
    "extract_numbers",
    "ground",
    "stated_values",
]
