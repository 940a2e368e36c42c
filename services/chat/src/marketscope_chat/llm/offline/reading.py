"""Reading a turn for the offline engine: the question's tickers, intents and span,
and the tool results that came back (matched to their calls)."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from marketscope_chat.llm.base import (
    Capabilities,
    Message,
)

MODEL = "marketscope-offline"
CAPABILITIES = Capabilities(
    tool_choice=True, parallel_tool_calls=True, include_usage=True, context_tokens=32_768
)
OFFLINE_NOTE = "_Offline engine: answers are assembled from tool results only._"
# The symbols market-data's replay provider has data for (its default provider).
REPLAY_SYMBOLS = ("AAPL", "MSFT", "IBM", "GOOG", "FB", "^GSPC")
BENCHMARK = "^GSPC"
ALIASES = {
    "apple": "AAPL",
    "microsoft": "MSFT",
    "ibm": "IBM",
    "google": "GOOG",
    "alphabet": "GOOG",
    "facebook": "FB",
    "meta": "FB",
}
MAX_SYMBOL_CALLS = 10  # one call per symbol (quote, history ...), as compare's limit
MAX_ROUNDS = 4

_MARKET = re.compile(r"s\s?&\s?p(?:\s?500)?|\bsp\s?500\b|\bthe (?:whole |overall )?market\b", re.I)
# Not a letter of a ratio's or a name's abbreviation: P/E, D/E, EV/EBITDA, S&P, AT&T.
_TICKER = re.compile(r"(?<![\w^$./&])(\^[A-Z]{2,6}|\$?[A-Z]{1,5}(?:\.[A-Z])?)(?![\w&/])")
_DOLLAR_TICKER = re.compile(r"(?<![\w$])\$([A-Za-z]{1,5})\b")
_WORD = re.compile(r"[a-z&]+")
# Upper-case words that are not tickers in a question.
_NOT_TICKERS = frozenset(
    {"I", "A", "AM", "AN", "AND", "ARE", "AS", "AT", "BE", "BY", "DO", "FOR", "HOW", "IF"}
    | {"IN", "IS", "IT", "ME", "MY", "OF", "ON", "OR", "SO", "THE", "TO", "UP", "US", "VS"}
    | {"WE", "RSI", "MACD", "SMA", "EMA", "ATR", "VAR", "USD", "EUR", "GBP", "ETF", "IPO"}
    | {"CEO", "CFO", "EPS", "PE", "YTD", "AI", "OK", "FAQ", "API", "ROI", "NYSE", "NASDAQ"}
    | {"GDP", "CPI", "FED", "PDF", "ET", "EST", "UTC", "WHAT", "WHICH"}
)
INTENTS: dict[str, re.Pattern[str]] = {
    "quote": re.compile(
        r"\b(prices?(?! (history|chart|trend|performance))|quotes?|trading|trade at|worth|cost"
        r"|how much|current(ly)?|right now|today|doing)\b"
    ),
    "history": re.compile(
        r"\b(history|historical|performance|performed|perform|trend(s|ing)?|chart|how did"
        r"|(52|fifty[- ]two)[- ]weeks?|highs? and lows?|highest|lowest|(trading|price) range)\b"
    ),
    "compare": re.compile(
        r"\b(compare[sd]?|comparison|comparing|vs|versus|outperform\w*|underperform\w*"
        r"|better than|difference between|side by side)\b"
    ),
    "risk": re.compile(
        r"\b(risk|risks|risky|riskier|volatility|volatile|beta|drawdowns?|sharpe|sortino"
        r"|value at risk|var|correlations?|correlated|safer)\b"
    ),
    "indicators": re.compile(
        r"\b(rsi|macd|sma|ema|moving averages?|bollinger|atr|technicals?|indicators?"
        r"|overbought|oversold|golden cross|death cross|crossover|momentum)\b"
    ),
    "profile": re.compile(
        r"\b(what does .+ do|profile|sector|industry|business|company|tell me about|who is"
        r"|exchange|website|describe)\b"
    ),
    "documents": re.compile(
        r"\b(my (documents?|docs|notes|research|files|uploads)|documents?|notes|according to"
        r"|uploaded|knowledge base|guides?)\b"
    ),
    # What a term means or how a measure works: the knowledge base's guides answer it.
    "explain": re.compile(
        r"\bwhat (?:does|do) (?:an? |the )?[\w/&'-]+(?: [\w/&'-]+){0,3} (?:mean|tell|measure"
        r"|show|indicate)s?\b|\bwhat (?:is|are) (?:an? |the meaning of )[\w/&-]+"
        r"|\b(?:explain|meaning of|definition of|define)\b|\bhow (?:do|does|is) (?:an? |the )?"
        r"[\w/&-]+(?: [\w/&-]+){0,2} (?:work|calculated|computed|measured)\b"
    ),
    "watchlist": re.compile(r"\b(watch ?list|portfolio|my stocks|my holdings|my symbols)\b"),
    "alert": re.compile(r"\b(alerts?|notify me|let me know when|tell me when|ping me)\b"),
}
# Figures the market data does not have: the answer says so rather than leave them out.
FUNDAMENTALS = re.compile(
    r"\b(dividends?|payout|p/e|pe ratio|price[- ]to[- ]earnings|earnings"
    r"|eps|market cap(italisation|italization)?|revenues?|sales|profits?|margins?"
    r"|valuation|book value|ev/ebitda|free cash flow|debt)\b"
)
# A question that ranks symbols by how they did.
_RANKING = re.compile(
    r"\b(best|worst|strongest|weakest|top|biggest)[- ](performing|performers?|gainers?"
    r"|losers?|stocks?|returns?)\b|\bwhich (stock|one|symbol)s? (did|has|have|was|is) (best|worst)"
)
# A span of time asks for history only when nothing else says what to measure over it.
_OVER_A_SPAN = re.compile(
    r"\b(over|in|during) the (last|past)\b|\bytd\b|\byear to date\b"
    r"|\b(\d+|a|one|two|three|five|six|ten) (day|week|month|year)s? ago\b"
)
_MY_DOCUMENTS = r"(?:my|our|the) (?:documents?|docs|notes|research|files|uploads)"
_WHERE_TO_LOOK = re.compile(
    rf"\baccording to {_MY_DOCUMENTS}"
    rf"|\b(?:what|how) (?:do|does) {_MY_DOCUMENTS} (?:say|tell(?: me)?)(?: (?:on|about))?"
    rf"|\b(?:summari[sz]e|search|check|look (?:in|through)|in|from) {_MY_DOCUMENTS}"
    rf"(?: (?:on|for|about))?|\b{_MY_DOCUMENTS}",
    re.I,
)
SYMBOL_INTENTS = ("quote", "history", "compare", "risk", "indicators", "profile")
_INDICATOR_WORDS = {
    "sma": r"\bsma\b|simple moving|moving averages?",
    "ema": r"\bema\b|exponential|moving averages?",
    "rsi": r"\brsi\b|relative strength|overbought|oversold",
    "macd": r"\bmacd\b",
    "bollinger": r"bollinger",
    "atr": r"\batr\b|average true range",
    "cross": r"golden cross|death cross|\bcross(es|over)?\b",
}
_NUMBER_WORDS = {"a": 1, "one": 1, "two": 2, "three": 3, "six": 6, "five": 5, "ten": 10}
_SPAN = re.compile(
    r"\b(\d+|a|one|two|three|five|six|ten)[\s-]*(day|week|month|year)s?\b"
    r"|\b(?:last|past|this)\s+(week|month|quarter|year|decade)\b"
)
_DAYS = {"day": 1.0, "week": 7.0, "month": 30.44, "quarter": 91.3, "year": 365.25}
_PERIODS = ((31, "1mo"), (92, "3mo"), (183, "6mo"), (366, "1y"), (731, "2y"), (1827, "5y"))
ABOVE = re.compile(r"\b(above|over|exceeds?|rises?|crosses above|hits?|reaches?|goes up)\b")
BELOW = re.compile(r"\b(below|under|falls?|drops?|dips?|goes down|sinks?)\b")


@dataclass(frozen=True, slots=True)
class Question:
    """What the engine understood of the user's question."""

    text: str
    symbols: tuple[str, ...]
    market: bool
    intents: frozenset[str]
    period: str | None
    indicators: tuple[str, ...] | None

    @classmethod
    def read(cls, text: str) -> Question:
        lowered = text.lower()
        market = _MARKET.search(text) is not None
        intents = {name for name, pattern in INTENTS.items() if pattern.search(lowered)}
        symbols = _symbols(_MARKET.sub(" ", text))
        if _RANKING.search(lowered):
            # "the best performer this year": compared, among the watchlist when none named
            intents.add("compare")
            if not symbols:
                intents.add("watchlist")
        if _OVER_A_SPAN.search(lowered) and not intents & {"compare", "risk", "indicators"}:
            intents.add("history")
        wanted = tuple(
            name for name, words in _INDICATOR_WORDS.items() if re.search(words, lowered)
        )
        return cls(
            text=text,
            symbols=symbols,
            market=market,
            intents=frozenset(intents),
            period=_period(lowered),
            indicators=wanted or None,
        )

    @property
    def understood(self) -> bool:
        return bool(self.symbols or self.market or self.intents)

    @property
    def document_query(self) -> str:
        """What to search the documents for: what the question is about, without the
        words that only say where to look ("according to my notes")."""
        about = re.search(r"\babout\s+(.+)", self.text, re.I | re.S)
        query = about.group(1) if about else _WHERE_TO_LOOK.sub(" ", self.text)
        return " ".join(query.split()).strip(" ,;:?!.") or self.text


def _symbols(text: str) -> tuple[str, ...]:
    found: list[tuple[int, str]] = []
    for match in _TICKER.finditer(text):
        symbol = match.group(1).lstrip("$")
        if symbol not in _NOT_TICKERS or match.group(1).startswith("$"):
            found.append((match.start(), symbol))
    found += [(m.start(), m.group(1).upper()) for m in _DOLLAR_TICKER.finditer(text)]
    lowered = text.lower()
    for word in _WORD.finditer(lowered):
        symbol = ALIASES.get(word.group()) or (
            word.group().upper() if word.group().upper() in REPLAY_SYMBOLS else None
        )
        if symbol:
            found.append((word.start(), symbol))
    return tuple(dict.fromkeys(symbol for _, symbol in sorted(found)))


def _period(lowered: str) -> str | None:
    if re.search(r"\b(ytd|year to date|this year)\b", lowered):
        return "ytd"
    match = _SPAN.search(lowered)
    if match is None:
        whole = r"\b(all[ -]time|since inception|entire history|max(imum)? (period|history))\b"
        return "max" if re.search(whole, lowered) else None
    if match.group(3):
        count, unit = 1.0, match.group(3)
        if unit == "decade":
            return "10y"
    else:
        raw = match.group(1)
        count, unit = float(_NUMBER_WORDS.get(raw) or raw), match.group(2)
    days = count * _DAYS[unit]
    for limit, period in _PERIODS:
        if days <= limit:
            return period
    return "10y" if days <= 3653 else "max"


@dataclass(frozen=True, slots=True)
class Outcome:
    """One tool call of this turn and what came back (None: no result yet)."""

    call_id: str
    name: str
    arguments: dict[str, Any]
    result: Any = None
    answered: bool = False
    readable: bool = True

    @property
    def error(self) -> str | None:
        if not self.readable:
            return "the result was not readable JSON"
        if isinstance(self.result, dict) and set(self.result) == {"error"}:
            return str(self.result["error"])
        return None


@dataclass(frozen=True, slots=True)
class Turn:
    """The conversation since the user's last message."""

    question: Question
    outcomes: tuple[Outcome, ...]
    rounds: int  # tool rounds already made
    answered_before: bool  # an answer was already written in this turn
    last_role: str

    @classmethod
    def of(cls, messages: Sequence[Message]) -> Turn:
        start = max(
            (i for i, message in enumerate(messages) if message.get("role") == "user"), default=-1
        )
        question = content_text(messages[start].get("content")) if start >= 0 else ""
        calls: dict[str, Outcome] = {}
        rounds = 0
        answered_before = False
        for message in messages[start + 1 :]:
            role = message.get("role")
            if role == "assistant":
                if message.get("tool_calls"):
                    rounds += 1
                for call in message.get("tool_calls") or ():
                    function = call.get("function", {})
                    calls[call.get("id", "")] = Outcome(
                        call.get("id", ""), function.get("name", ""), _arguments(function)
                    )
                answered_before = answered_before or bool(content_text(message.get("content")))
            elif role == "tool" and message.get("tool_call_id") in calls:
                known = calls[message["tool_call_id"]]
                result, readable = _parse(content_text(message.get("content")))
                calls[known.call_id] = Outcome(
                    known.call_id, known.name, known.arguments, result, True, readable
                )
        last_role = str(messages[-1].get("role", "")) if messages else ""
        return cls(
            Question.read(question), tuple(calls.values()), rounds, answered_before, last_role
        )

    def made(self) -> set[str]:
        return {call_key(outcome.name, outcome.arguments) for outcome in self.outcomes}

    def watchlist_symbols(self) -> list[str] | None:
        """The symbols the watchlist call returned; None before it answered or on error."""
        for outcome in self.outcomes:
            if outcome.name == "watchlist" and outcome.answered and outcome.error is None:
                symbols = (
                    outcome.result.get("symbols") if isinstance(outcome.result, dict) else None
                )
                return [str(symbol) for symbol in symbols or ()]
        return None


def content_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
    return ""


def _arguments(function: dict[str, Any]) -> dict[str, Any]:
    try:
        parsed = json.loads(function.get("arguments") or "{}")
    except json.JSONDecodeError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def _parse(content: str) -> tuple[Any, bool]:
    try:
        return json.loads(content), True
    except json.JSONDecodeError:
        return None, False


def call_key(name: str, arguments: dict[str, Any]) -> str:
    return f"{name}:{json.dumps(arguments, sort_keys=True)}"
