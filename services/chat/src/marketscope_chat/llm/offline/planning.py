"""Which tool calls a question needs, round by round (independent calls together)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from marketscope_chat.grounding import extract_numbers
from marketscope_chat.llm.base import (
    ToolSpec,
)
from marketscope_chat.llm.offline.reading import (
    ABOVE,
    BELOW,
    BENCHMARK,
    FUNDAMENTALS,
    MAX_SYMBOL_CALLS,
    REPLAY_SYMBOLS,
    SYMBOL_INTENTS,
    Question,
    Turn,
)

# --- planning ---------------------------------------------------------------------------

ALERTS_PAGE = "/#/alerts"
NO_FUNDAMENTALS = (
    "The market data here has prices, their history, risk, technical indicators and "
    "company profiles, but no fundamentals (dividends, earnings, valuation ratios, market "
    "capitalisation); your documents may have them: ask what they say."
)
# A price that moves to the level ("drops below") asks for a crossing, not a level check.
MOVING = re.compile(
    r"\b(rises?|climbs?|jumps?|goes|gets|moves|cross(es)?|breaks?|falls?|drops?|dips?|sinks?)\b"
)
# The alerts page's condition for (direction, moving), with its words there.
ALERT_KINDS = {
    ("above", True): ("crossing_up", "crosses up through"),
    ("below", True): ("crossing_down", "crosses down through"),
    ("above", False): ("greater_than", "is above"),
    ("below", False): ("less_than", "is below"),
}


@dataclass(slots=True)
class Plan:
    """The calls a question needs given what is known, and what it cannot be given."""

    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def plan(turn: Turn, tools: Sequence[ToolSpec]) -> Plan:
    """Every call the question needs with what is known so far (watchlist symbols once
    the watchlist answered); the caller asks for those not made yet."""
    question, offered = turn.question, {tool.name: tool for tool in tools}
    wanted = Plan()
    intents = set(question.intents)
    if question.symbols and not intents & {*SYMBOL_INTENTS, "alert", "documents"}:
        intents.add("quote")  # a bare ticker asks for its price
    symbols = list(question.symbols)
    if "watchlist" in intents:
        wanted.calls.append(("watchlist", {}))
        listed = turn.watchlist_symbols()
        if intents & set(SYMBOL_INTENTS) and listed is None:
            intents -= set(SYMBOL_INTENTS)  # the second round, once the symbols are known
        symbols += [symbol for symbol in listed or () if symbol not in symbols]
    if question.market and (not symbols or "compare" in intents) and BENCHMARK not in symbols:
        symbols.append(BENCHMARK)
    if intents & set(SYMBOL_INTENTS):
        if symbols:
            wanted.calls += _symbol_calls(question, intents, symbols)
        elif not intents & {"watchlist", "documents", "explain"}:
            # ("what do my notes say about RSI" names a topic, not a symbol to look up)
            wanted.notes.append(
                "Name a symbol to look up: the replay data has " + ", ".join(REPLAY_SYMBOLS) + "."
            )
    if FUNDAMENTALS.search(question.text.lower()) and not intents & {"documents", "explain"}:
        wanted.notes.append(NO_FUNDAMENTALS)
    if intents & {"documents", "explain"}:
        wanted.calls.append(("search_documents", {"query": question.document_query, "limit": 5}))
    if "alert" in intents:
        _plan_alert(question, offered.get("create_alert"), wanted)
    missing = sorted({name for name, _ in wanted.calls if name not in offered})
    if missing:
        wanted.notes.append(f"These tools are not available here: {', '.join(missing)}.")
    wanted.calls = [(name, args) for name, args in wanted.calls if name in offered]
    return wanted


def _symbol_calls(
    question: Question, intents: set[str], symbols: list[str]
) -> list[tuple[str, dict[str, Any]]]:
    period = question.period or "1y"
    each = symbols[:MAX_SYMBOL_CALLS]
    calls: list[tuple[str, dict[str, Any]]] = []
    together = symbols if BENCHMARK in symbols else [*symbols, BENCHMARK]
    if "compare" in intents and len(together) >= 2:
        # one symbol is compared with the market
        compared = symbols if len(symbols) >= 2 else together
        calls.append(("compare", {"symbols": compared[:10], "period": period}))
    elif "compare" in intents or "risk" in intents:
        measured = [s for s in symbols if s != BENCHMARK] or [BENCHMARK]
        calls.append(("risk", {"symbols": measured[:20], "benchmark": BENCHMARK, "period": period}))
    if "quote" in intents and not any(name == "compare" for name, _ in calls):
        calls += [("quote", {"symbol": symbol}) for symbol in each]
    if "history" in intents:
        interval = "1d" if period in ("1mo", "3mo", "6mo", "ytd", "1y") else "1wk"
        if period in ("10y", "max"):
            interval = "1mo"
        calls += [
            ("history", {"symbol": symbol, "interval": interval, "period": period})
            for symbol in each
        ]
    if "indicators" in intents:
        names = list(question.indicators) if question.indicators else None
        calls += [("indicators", {"symbol": symbol, "names": names}) for symbol in each]
    if "profile" in intents:
        calls += [("profile", {"symbol": symbol}) for symbol in each]
    return calls


def _plan_alert(question: Question, tool: ToolSpec | None, wanted: Plan) -> None:
    if tool is None:
        wanted.notes.append(_alert_offer(question))
        return
    arguments = _alert_arguments(question, tool)
    if arguments is None:
        wanted.notes.append(
            "I could not tell the symbol, the direction and the price of the alert from the "
            f"question; alerts can also be set on the [alerts page]({ALERTS_PAGE})."
        )
        return
    wanted.calls.append((tool.name, arguments))


@dataclass(frozen=True, slots=True)
class _AlertAsked:
    """What the question says of the alert it wants; None where it says nothing."""

    symbol: str | None
    direction: str | None  # "above" or "below"
    price: float | None
    moving: bool  # "drops below" (a crossing) rather than "is below" (a level)

    @classmethod
    def of(cls, question: Question) -> _AlertAsked:
        lowered = question.text.lower()
        below, above = BELOW.search(lowered), ABOVE.search(lowered)
        prices = [m.value for m in extract_numbers(question.text) if m.unit != "percent"]
        return cls(
            symbol=question.symbols[0] if question.symbols else None,
            direction="below" if below else "above" if above else None,
            price=prices[0] if prices else None,
            moving=MOVING.search(lowered) is not None,
        )


def _alert_offer(question: Question) -> str:
    """With no alert tool offered: the alert the question asks for as a link to the
    alerts page with its form filled in (the reader checks and creates it), or the page."""
    asked = _AlertAsked.of(question)
    if asked.symbol is None or asked.direction is None or asked.price is None:
        return f"Alerts can be set on the [alerts page]({ALERTS_PAGE})."
    kind, words = ALERT_KINDS[asked.direction, asked.moving]
    level = f"{asked.price:g}"
    query = urlencode({"symbol": asked.symbol, "kind": kind, "level": level})
    return (
        "I cannot set alerts from the chat; this one is ready on the alerts page for you to "
        f"check and create: [{asked.symbol} {words} {level}]({ALERTS_PAGE}?{query})."
    )


def _alert_arguments(question: Question, tool: ToolSpec) -> dict[str, Any] | None:
    """The alert tool's arguments filled from its schema: the symbol, a direction from
    words like "above"/"below", and the price the question states."""
    asked = _AlertAsked.of(question)
    properties: dict[str, Any] = tool.parameters.get("properties", {})
    arguments: dict[str, Any] = {}
    for name, schema in properties.items():
        choices = [str(choice) for choice in schema.get("enum", ())]
        if name in ("symbol", "ticker") and asked.symbol:
            arguments[name] = asked.symbol
        elif asked.direction and asked.direction in choices:
            arguments[name] = asked.direction
        elif asked.price is not None and re.search(r"threshold|price|target|level|value", name):
            arguments[name] = asked.price
    required = tool.parameters.get("required", [])
    return arguments if arguments and all(name in arguments for name in required) else None
