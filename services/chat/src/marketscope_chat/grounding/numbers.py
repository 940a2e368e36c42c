"""Finding the numbers an answer states.

`extract_numbers` reads prose the way a reader would and returns each number it states,
with its value, unit, magnitude and the decimal places it was written with (what the
matching in `marketscope_chat.grounding.matching` rounds to).

What counts as a number:

- digits with any number of decimals, ``.5`` included; thousands separators in groups of
  three (``1,234.56``; ``1,2,3`` is three numbers);
- a sign touching the number: ``+1.2``, ``-3.4``, or U+2212 MINUS SIGN before it. A
  hyphen between two numbers is a range, not a sign: ``10-20`` and ``10%-20%`` are 10
  and 20;
- percent: ``%``, ``percent``, ``per cent``, ``pp``, ``percentage point(s)``, with or
  without a space (``+1.2 %``). The value stays in percent (``1.23%`` is 1.23);
- currency: ``$``, ``US$``, ``€``, ``£``, ``¥`` before the number, an ISO code (``USD``,
  ``EUR``, ...) before or after it (``187.20 USD``), the sign before or after the ``$``;
- magnitude: ``k``/``K``, ``M``/``MM``/``mn``, ``B``/``bn``, ``T``/``tn`` glued to the
  number, ``thousand``/``million``/``billion``/``trillion`` with or without a space.
  ``value`` has the scale applied (``1.2B`` is 1.2e9, ``scale`` 1e9, 1 decimal).

What does not count (a grounding check must not ask for a source of these):

- dates: ISO dates and date-times with their offsets (``2013-12-31``,
  ``2013-03-01T16:00:00-05:00``), year-months (``2013-12``), ``31/12/2013``,
  ``12/31/13``, ``2013/12/31``, ``31.12.2013``, ``12/2013``, month names with a day or a
  year (``Dec 31 2013``, ``31 December 2013``, ``December 2013``), year ranges
  (``2012-2013``), and a bare year 1900-2099 after ``in``, ``since``, ``from``,
  ``during``, ``until``, ``through``, ``before``, ``after``, ``year``, ``FY``, ``Q1``..``Q4``
  or ``H1``/``H2``, or after ``to``/``and`` following such a year (``from 2012 to 2013``);
- times: ``16:00``, ``9:30:15``, ``4 pm``, ``4:30 p.m.``;
- numbers glued to letters, underscores or ``^`` (names and codes, not quantities):
  ticker and field names (``sma_20``, ``var_95``, ``^N225``, ``0700.HK``), period codes
  (``1y``, ``10y``, ``1wk``, ``6mo``), ``Q3``, ordinals written in digits (``1st``,
  ``22nd``); a lower-case ``m`` is not a magnitude (``5m`` is minutes as often as millions);
- list markers at the start of a line (``1.``, ``2)``, also after a bullet);
- citation markers: ``[1]``, ``[1, 2]``, ``[1-3]``;
- indicator names with their usual windows: ``RSI(14)``, ``SMA 50/200``, ``EMA 20``,
  ``MACD(12, 26, 9)``, ``95% VaR``, ``VaR 95`` (``RSI 61.2`` still states 61.2);
- web addresses;
- numbers spelled as words (``two``, ``third``): only digits are read.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass
from typing import Literal

Unit = Literal["percent", "currency", "plain"]

_MONTH = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
)
_DAY = r"\d{1,2}(?:st|nd|rd|th)?"
_YEAR = r"(?:19|20)\d{2}"
_CODES = r"USD|EUR|GBP|JPY|CHF|CAD|AUD"

# Spans whose digits are not quantities: dates, times, web addresses ...
_DATES_AND_TIMES = (
    r"\bhttps?://\S+",
    # ISO dates, date-times with their offsets, year-months, year ranges
    r"\b\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+\-]\d{2}:?\d{2})?)?",
    rf"\b{_YEAR}-(?:0[1-9]|1[0-2])\b(?!-\d)",
    rf"\b{_YEAR}\s?[\-\u2013]\s?(?:{_YEAR}|\d{{2}})\b",
    r"\b\d{1,2}/\d{1,2}/\d{2,4}\b",
    r"\b\d{4}/\d{1,2}/\d{1,2}\b",
    r"\b\d{1,2}\.\d{1,2}\.\d{4}\b",
    rf"\b(?:0?[1-9]|1[0-2])/{_YEAR}\b",
    rf"(?i:\b{_MONTH}\s+{_DAY}\b(?:,?\s+{_YEAR}\b)?)",
    rf"(?i:\b{_DAY}\s+(?:of\s+)?{_MONTH}(?:,?\s+{_YEAR}\b)?)",
    rf"(?i:\b{_MONTH},?\s+{_YEAR}\b)",
    r"\b\d{1,2}:\d{2}(?::\d{2})?(?:\s?(?i:[ap]\.?m\.?))?(?![\w:])",
    r"\b\d{1,2}\s?(?i:[ap]\.m\.|[ap]m\b)",
)
# ... and markers, which are numbers only where they stand: a citation, a list item.
_MARKERS = (
    r"\[\d+(?:\s*[,\-\u2013]\s*\d+)*\]",
    r"^[ \t]*(?:[\-*+•][ \t]+)?\d{1,3}[.)](?=\s)",
)
# ... and indicator names with their usual windows: RSI(14), SMA 50/200, MACD(12, 26, 9),
# 95% VaR. Only those windows: "RSI 61.2" states a value.
_WINDOWS = r"(?:5|10|12|14|20|26|50|100|200)"
_LABELS = (
    rf"(?i:\b(?:SMA|EMA|MA|RSI|ATR|MACD|Bollinger)\s?\(?{_WINDOWS}"
    rf"(?:\s?[,/]\s?(?:{_WINDOWS}|9))*\)?(?![\d.]))",
    r"(?i:\b(?:90|95|99)(?:\.\d)?\s?%\s?(?:one-day\s|1-day\s|daily\s)?VaR\b)",
    r"(?i:\bVaR\s?\(?(?:90|95|99)(?:\.\d)?\s?%?\)?(?![\d.]))",
)
_EXCLUDED = re.compile("|".join(_DATES_AND_TIMES + _MARKERS + _LABELS), re.MULTILINE)
_NOT_QUANTITIES = re.compile("|".join(_DATES_AND_TIMES))
_DIGIT_RUN = re.compile(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?")

_NUMBER = re.compile(
    rf"""
    (?<![\w.^])                                   # not glued to a name or a number
    (?:(?<![%)\]])(?P<sign>[+\-\u2212]))?         # a sign, unless the hyphen is a range
    (?P<prefix>US\$|\$|€|£|¥|(?:{_CODES})\s?)?
    (?(prefix)(?P<sign2>[+\-\u2212])?)           # $-3.40
    (?P<digits>\d{{1,3}}(?:,\d{{3}})+(?:\.\d+)?|\d+(?:\.\d+)?|\.\d+)
    (?:
        (?P<glued>K|k|MM|M|mn|bn|B|tn|T|x)(?![A-Za-z])
      | \s?(?P<word>thousand|million|billion|trillion)\b
    )?
    (?P<percent>\s?(?:%|percent\b|per\s?cent\b|percentage\s+points?\b|pp\b))?
    (?P<suffix>\s(?:{_CODES})\b)?
    (?![\w])(?!\.\w)                              # 1y, 1st, 0700.HK, 1.2.3 are names
    """,
    re.VERBOSE,
)

_SCALES = {
    "k": 1e3,
    "K": 1e3,
    "thousand": 1e3,
    "M": 1e6,
    "MM": 1e6,
    "mn": 1e6,
    "million": 1e6,
    "B": 1e9,
    "bn": 1e9,
    "billion": 1e9,
    "T": 1e12,
    "tn": 1e12,
    "trillion": 1e12,
    "x": 1.0,  # a multiple (25x earnings): no magnitude
}
_YEAR_WORDS = frozenset(
    {"in", "since", "from", "during", "until", "till", "through", "before", "after", "year"}
    | {"fy", "q1", "q2", "q3", "q4", "h1", "h2"}
)
_YEAR_JOINERS = frozenset({"to", "and", "or", "-", "\u2013", "through"})
_PREVIOUS_WORD = re.compile(r"(\w+|[\-\u2013])\s*$")
_TRAILING_YEAR = re.compile(rf"(?<!\d){_YEAR}\s*$")
_WINDOW = 40


@dataclass(frozen=True, slots=True)
class NumberMention:
    """One number as a text states it.

    ``value`` is signed and has ``scale`` applied; a percent stays in percent points.
    ``decimals`` are the decimal places written (``1,200M`` has 0, ``1.2B`` 1).
    ``signed`` is true when the text wrote ``+`` or a minus.
    """

    text: str
    value: float
    unit: Unit
    scale: float
    decimals: int
    signed: bool
    span: tuple[int, int]
    currency: str | None = None


def extract_numbers(text: str) -> list[NumberMention]:
    """Every number ``text`` states, in order (see the module's rules)."""
    excluded = _excluded_spans(text)
    mentions: list[NumberMention] = []
    for match in _NUMBER.finditer(text):
        start, end = match.span()
        if _overlaps(excluded, start, end):
            continue
        mention = _mention(match)
        if _is_year(text, mention, mentions):
            continue
        mentions.append(mention)
    return mentions


def stated_values(text: str) -> list[float]:
    """The values of every number ``text`` states, read generously: its mentions, and
    also every digit run outside dates, times and addresses (a list marker, a year after
    "in"), because a passage quoted elsewhere loses the context that made those markers.
    What a source holds is read this way; what an answer states, by `extract_numbers`."""
    values = [mention.value for mention in extract_numbers(text)]
    excluded = _excluded_spans(text, _NOT_QUANTITIES)
    values.extend(
        float(run[0].replace(",", ""))
        for run in _DIGIT_RUN.finditer(text)
        if not _overlaps(excluded, *run.span())
    )
    return values


def _excluded_spans(text: str, pattern: re.Pattern[str] = _EXCLUDED) -> tuple[list[int], list[int]]:
    starts: list[int] = []
    ends: list[int] = []
    for match in pattern.finditer(text):
        starts.append(match.start())
        ends.append(match.end())
    return starts, ends


def _overlaps(excluded: tuple[list[int], list[int]], start: int, end: int) -> bool:
    # finditer yields non-overlapping spans in order: only the last one starting before
    # ``end`` can overlap.
    starts, ends = excluded
    index = bisect_right(starts, end - 1) - 1
    return index >= 0 and ends[index] > start


def _mention(match: re.Match[str]) -> NumberMention:
    digits = match["digits"]
    sign = match["sign"] or match["sign2"]
    magnitude = match["glued"] or match["word"]
    scale = _SCALES[magnitude] if magnitude else 1.0
    number = float(digits.replace(",", ""))
    if sign in ("-", "\u2212"):
        number = -number
    decimals = len(digits.partition(".")[2])
    prefix = (match["prefix"] or "").strip()
    suffix = (match["suffix"] or "").strip()
    currency = _currency(prefix or suffix)
    unit: Unit = "percent" if match["percent"] else "currency" if currency else "plain"
    return NumberMention(
        text=match[0].strip(),
        value=number * scale,
        unit=unit,
        scale=scale,
        decimals=decimals,
        signed=sign is not None,
        span=(match.start(), match.end()),
        currency=currency,
    )


def _currency(mark: str) -> str | None:
    symbols = {"$": "USD", "US$": "USD", "€": "EUR", "£": "GBP", "¥": "JPY"}
    return symbols.get(mark, mark or None)


def _is_year(text: str, mention: NumberMention, before: list[NumberMention]) -> bool:
    """A bare 1900-2099 integer that the word before it makes a year."""
    if not _bare_year(mention):
        return False
    start = mention.span[0]
    window = text[max(0, start - _WINDOW) : start]
    previous = _PREVIOUS_WORD.search(window)
    if previous is None:
        return False
    word = previous.group(1).lower()
    if word in _YEAR_WORDS:
        return True
    if word not in _YEAR_JOINERS:
        return False
    # "from 2012 to 2013": a joiner after a year that was itself taken as a year (it is
    # not among the mentions found so far).
    earlier = _TRAILING_YEAR.search(window, 0, previous.start())
    if earlier is None:
        return False
    earlier_start = start - len(window) + earlier.start()
    return not before or not before[-1].span[0] <= earlier_start < before[-1].span[1]


def _bare_year(mention: NumberMention) -> bool:
    return (
        mention.unit == "plain"
        and mention.scale == 1.0
        and not mention.signed
        and mention.decimals == 0
        and mention.text.isdigit()
        and 1900 <= mention.value <= 2099
    )
