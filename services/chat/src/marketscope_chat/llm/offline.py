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
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

from marketscope_chat.grounding import extract_numbers
from marketscope_chat.llm.base import (
    Capabilities,
    ChatModel,
    Message,
    ModelEvent,
    ModelReply,
    ModelRequest,
    TextDelta,
    ToolCall,
    ToolSpec,
    Usage,
)
from marketscope_chat.llm.tokens import count_tokens, messages_tokens

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
_TICKER = re.compile(r"(?<![\w^$.])(\^[A-Z]{2,6}|\$?[A-Z]{1,5}(?:\.[A-Z])?)(?![\w&])")
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
        r"\b(history|historical|performance|performed|perform|trend(s|ing)?|chart|how did)\b"
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
    "watchlist": re.compile(r"\b(watch ?list|portfolio|my stocks|my holdings|my symbols)\b"),
    "alert": re.compile(r"\b(alerts?|notify me|let me know when|tell me when|ping me)\b"),
}
# A span of time asks for history only when nothing else says what to measure over it.
_OVER_A_SPAN = re.compile(r"\b(over|in|during) the (last|past)\b|\bytd\b|\byear to date\b")
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
_ABOVE = re.compile(r"\b(above|over|exceeds?|rises?|crosses above|hits?|reaches?|goes up)\b")
_BELOW = re.compile(r"\b(below|under|falls?|drops?|dips?|goes down|sinks?)\b")


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
        if _OVER_A_SPAN.search(lowered) and not intents & {"compare", "risk", "indicators"}:
            intents.add("history")
        wanted = tuple(
            name for name, words in _INDICATOR_WORDS.items() if re.search(words, lowered)
        )
        return cls(
            text=text,
            symbols=_symbols(_MARKET.sub(" ", text)),
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
        question = _content_text(messages[start].get("content")) if start >= 0 else ""
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
                answered_before = answered_before or bool(_content_text(message.get("content")))
            elif role == "tool" and message.get("tool_call_id") in calls:
                known = calls[message["tool_call_id"]]
                result, readable = _parse(_content_text(message.get("content")))
                calls[known.call_id] = Outcome(
                    known.call_id, known.name, known.arguments, result, True, readable
                )
        last_role = str(messages[-1].get("role", "")) if messages else ""
        return cls(
            Question.read(question), tuple(calls.values()), rounds, answered_before, last_role
        )

    def made(self) -> set[str]:
        return {_call_key(outcome.name, outcome.arguments) for outcome in self.outcomes}

    def watchlist_symbols(self) -> list[str] | None:
        """The symbols the watchlist call returned; None before it answered or on error."""
        for outcome in self.outcomes:
            if outcome.name == "watchlist" and outcome.answered and outcome.error is None:
                symbols = (
                    outcome.result.get("symbols") if isinstance(outcome.result, dict) else None
                )
                return [str(symbol) for symbol in symbols or ()]
        return None


def _content_text(content: Any) -> str:
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


def _call_key(name: str, arguments: dict[str, Any]) -> str:
    return f"{name}:{json.dumps(arguments, sort_keys=True)}"


# --- planning ---------------------------------------------------------------------------


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
        elif not intents & {"watchlist", "documents"}:
            # ("what do my notes say about RSI" names a topic, not a symbol to look up)
            wanted.notes.append(
                "Name a symbol to look up: the replay data has " + ", ".join(REPLAY_SYMBOLS) + "."
            )
    if "documents" in intents:
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
        wanted.notes.append("Alerts can be set on the alerts page.")
        return
    arguments = _alert_arguments(question, tool)
    if arguments is None:
        wanted.notes.append(
            "I could not tell the symbol, the direction and the price of the alert from the "
            "question; alerts can also be set on the alerts page."
        )
        return
    wanted.calls.append((tool.name, arguments))


def _alert_arguments(question: Question, tool: ToolSpec) -> dict[str, Any] | None:
    """The alert tool's arguments filled from its schema: the symbol, a direction from
    words like "above"/"below", and the price the question states."""
    lowered = question.text.lower()
    direction = "below" if _BELOW.search(lowered) else "above" if _ABOVE.search(lowered) else None
    prices = [m for m in extract_numbers(question.text) if m.unit != "percent"]
    symbol = question.symbols[0] if question.symbols else None
    properties: dict[str, Any] = tool.parameters.get("properties", {})
    arguments: dict[str, Any] = {}
    for name, schema in properties.items():
        choices = [str(choice) for choice in schema.get("enum", ())]
        if name in ("symbol", "ticker") and symbol:
            arguments[name] = symbol
        elif direction and direction in choices:
            arguments[name] = direction
        elif prices and re.search(r"threshold|price|target|level|value", name):
            arguments[name] = prices[0].value
    required = tool.parameters.get("required", [])
    return arguments if arguments and all(name in arguments for name in required) else None


# --- writing ----------------------------------------------------------------------------


def _number(value: Any) -> str:
    """A result's number as written in answers: two decimals, four when smaller than 0.1
    (a MACD histogram of 0.0042 is not 0.00)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    text = f"{value:,.2f}" if abs(value) >= 0.1 else f"{value:.4f}"
    return text.lstrip("-") if float(text.replace(",", "")) == 0 else text


def _fraction_percent(value: Any) -> str:
    """A fraction (risk metrics) written as a percent with two decimals."""
    if not isinstance(value, int | float):
        return "n/a"
    text = f"{value * 100:.2f}"
    return f"{text.lstrip('-') if float(text) == 0 else text}%"


def _move(change: Any, percent: Any) -> str:
    """'up 2.34 (0.53%)' from a signed change: the words carry the sign."""
    if not isinstance(change, int | float):
        return ""
    if change == 0:
        return "unchanged"
    amount = _number(abs(change))
    share = f" ({abs(percent):.2f}%)" if isinstance(percent, int | float) else ""
    return f"{'up' if change > 0 else 'down'} {amount}{share}"


def _date(value: Any) -> str:
    return str(value)[:10] if value else "an unknown date"


def _symbols_text(symbols: Iterable[Any]) -> str:
    return ", ".join(str(symbol) for symbol in symbols)


def _what(outcome: Outcome) -> str:
    args = outcome.arguments
    symbol = args.get("symbol", "")
    listed = _symbols_text(args.get("symbols") or ())
    return {
        "quote": f"a quote for {symbol}",
        "history": f"the price history of {symbol}",
        "indicators": f"the indicators of {symbol}",
        "profile": f"the profile of {symbol}",
        "risk": f"risk metrics for {listed}",
        "compare": f"a comparison of {listed}",
        "search_documents": "passages from your documents",
        "watchlist": "your watchlist",
    }.get(outcome.name, f"a result from {outcome.name}")


def _quote_lines(quote: dict[str, Any]) -> list[str]:
    line = (
        f"**{quote.get('symbol')}** last traded at {_number(quote.get('price'))} "
        f"{quote.get('currency', '')} on {_date(quote.get('as_of'))} "
        f"(source: {quote.get('source')})"
    )
    move = _move(quote.get("change"), quote.get("change_percent"))
    if move and quote.get("previous_close") is not None:
        line += f", {move} from the previous close of {_number(quote['previous_close'])}."
    else:
        line += "; there is no previous close to compare with."
    if quote.get("stale"):
        line += " The price is stale: there is no newer one."
    return [line]


def _history_lines(outcome: Outcome) -> list[str]:
    data = outcome.result
    summary = data.get("summary") or {}
    words = {"1d": "daily", "1wk": "weekly", "1mo": "monthly"}
    interval = words.get(str(data.get("interval")), str(data.get("interval")))
    period = outcome.arguments.get("period")
    head = f"**{data.get('symbol')}** over `{period}`" if period else f"**{data.get('symbol')}**"
    if summary.get("first_close") is None:
        return [f"{head}: there are no bars in that period (source: {data.get('source')})."]
    line = (
        f"{head}, {interval} bars from {summary.get('start')} to {summary.get('end')} "
        f"(source: {data.get('source')}): the close went from {_number(summary['first_close'])} "
        f"to {_number(summary.get('last_close'))}"
    )
    change = summary.get("change_percent")
    if isinstance(change, int | float):
        line += f", {'up' if change >= 0 else 'down'} {abs(change):.2f}%"
    line += "."
    extremes = [f"high {_number(summary.get('high'))}", f"low {_number(summary.get('low'))}"]
    if isinstance(summary.get("average_volume"), int | float):
        extremes.append(f"average volume {summary['average_volume']:,.0f}")
    lines = [line, f"Over the period: {', '.join(extremes)} ({data.get('bars_total')} bars)."]
    if data.get("stale"):
        lines.append("The data is stale: the provider has no newer bars.")
    return lines


def _indicator_lines(data: dict[str, Any]) -> list[str]:
    values: dict[str, Any] = data.get("indicators") or {}
    names: list[str] = list(data.get("names") or ())
    lines = [
        f"**{data.get('symbol')}** indicators as of {data.get('as_of')} (close "
        f"{_number(data.get('close'))}, {data.get('bars_used')} daily bars, source: "
        f"{data.get('source')}):"
    ]

    def listed(keys: Sequence[str]) -> str:
        return ", ".join(
            f"`{key}` {_number(values[key]) if values.get(key) is not None else 'n/a'}"
            for key in keys
        )

    if "sma" in names:
        lines.append(f"- Simple moving averages: {listed(('sma_20', 'sma_50', 'sma_200'))}.")
    if "ema" in names:
        lines.append(f"- Exponential moving averages: {listed(('ema_12', 'ema_26'))}.")
    if "rsi" in names:
        lines.append(f"- RSI: {listed(('rsi_14',))}.")
    if "macd" in names:
        macd = values.get("macd")
        lines.append(
            f"- MACD {_number(macd['macd'])}, signal {_number(macd['signal'])}, histogram "
            f"{_number(macd['histogram'])}."
            if macd
            else "- MACD: not enough bars."
        )
    if "bollinger" in names:
        bands = values.get("bollinger")
        lines.append(
            f"- Bollinger bands: middle {_number(bands['middle'])}, upper "
            f"{_number(bands['upper'])}, lower {_number(bands['lower'])}, `percent_b` "
            f"{_number(bands['percent_b'])}."
            if bands
            else "- Bollinger bands: not enough bars."
        )
    if "atr" in names:
        lines.append(f"- Average true range: {listed(('atr_14',))}.")
    if "cross" in names:
        cross = values.get("cross")
        lines.append(
            f"- Last SMA cross: a {cross['kind']} cross on {cross['on']}; `sma_50` is now "
            f"{'above' if cross['fast_above_slow'] else 'below'} `sma_200`."
            if cross
            else "- No `sma_50`/`sma_200` cross in the bars used."
        )
    if data.get("stale"):
        lines.append("The data is stale: the provider has no newer bars.")
    return lines


def _risk_lines(risk: dict[str, Any]) -> list[str]:
    against = f", beta against {risk['benchmark']}" if risk.get("benchmark") else ""
    lines = [
        f"Risk of {_symbols_text(risk.get('symbols') or ())} from {risk.get('start')} to "
        f"{risk.get('end')} ({risk.get('observations')} daily returns{against}, risk-free "
        f"rate {_fraction_percent(risk.get('risk_free_rate'))}):"
    ]
    for metric in risk.get("metrics") or ():
        ratios = ", ".join(
            f"{label} {_number(metric.get(key)) if metric.get(key) is not None else 'n/a'}"
            for label, key in (("beta", "beta"), ("Sharpe", "sharpe"), ("Sortino", "sortino"))
        )
        lines.append(
            f"- **{metric.get('symbol')}**: annualised return "
            f"{_fraction_percent(metric.get('annualised_return'))}, annualised volatility "
            f"{_fraction_percent(metric.get('annualised_volatility'))}, {ratios}, max drawdown "
            f"{_fraction_percent(metric.get('max_drawdown'))}, one-day VaR (`var_95`) "
            f"{_fraction_percent(metric.get('var_95'))}."
        )
    symbols = [str(symbol) for symbol in risk.get("symbols") or ()]
    matrix: dict[str, dict[str, Any]] = risk.get("correlation") or {}
    pairs = [
        f"{a}/{b} {_number(matrix[a][b])}"
        for i, a in enumerate(symbols)
        for b in symbols[i + 1 :]
        if a in matrix and b in matrix[a]
    ]
    if pairs:
        lines.append(f"Correlation of daily returns: {'; '.join(pairs[:10])}.")
    if risk.get("stale"):
        lines.append("Some of the data is stale: the provider has no newer bars.")
    return lines


def _compare_lines(data: dict[str, Any]) -> list[str]:
    lines = [f"Comparison of {_symbols_text(data.get('symbols') or ())}:"]
    batch = data.get("quotes") or {}
    for quote in batch.get("quotes") or ():
        lines += _quote_lines(quote)
    for failed in batch.get("errors") or ():
        lines.append(f"I could not get a quote for {failed.get('symbol')}: {failed.get('detail')}")
    risk = data.get("risk")
    if isinstance(risk, dict) and "error" in risk:
        lines.append(f"I could not get risk metrics: {risk['error']}")
    elif isinstance(risk, dict):
        lines += _risk_lines(risk)
        metrics = [m for m in risk.get("metrics") or () if isinstance(m, dict)]
        if len(metrics) >= 2:
            best = max(metrics, key=lambda m: m.get("annualised_return") or 0.0)
            calmest = min(metrics, key=lambda m: m.get("annualised_volatility") or 0.0)
            lines.append(
                f"Highest annualised return: {best.get('symbol')}; lowest annualised "
                f"volatility: {calmest.get('symbol')}."
            )
    return lines


def _profile_lines(profile: dict[str, Any]) -> list[str]:
    line = f"**{profile.get('symbol')}** is {profile.get('name')}"
    if profile.get("exchange"):
        line += f", listed on {profile['exchange']}"
    if profile.get("sector"):
        line += f", in the {profile['sector']} sector"
        if profile.get("industry"):
            line += f" ({profile['industry']})"
    lines = [line + "."]
    if profile.get("website"):
        lines.append(f"Website: {profile['website']}")
    if profile.get("summary"):
        lines.append(str(profile["summary"]))
    return lines


def _watchlist_lines(watchlist: dict[str, Any]) -> list[str]:
    symbols = watchlist.get("symbols") or []
    if not symbols:
        return ["Your watchlist is empty: add symbols on the watchlist page."]
    saved = watchlist.get("updated_at")
    when = f" (saved {_date(saved)})" if saved else ""
    return [f"Your watchlist{when}: {_symbols_text(symbols)}."]


def _excerpt(text: str, limit: int = 280) -> str:
    """The passage's start without its headings (the section is named beside it) and
    table rules, cut between words so no number is cut in two."""
    kept = [
        line
        for line in text.splitlines()
        if not line.lstrip().startswith("#") and not re.fullmatch(r"[\s|:\-]*", line)
    ]
    flat = " ".join(" ".join(kept).split())
    if len(flat) <= limit:
        return flat
    cut = flat.rfind(" ", 0, limit)
    return flat[: cut if cut > 0 else limit] + " …"


def _documents_lines(data: dict[str, Any]) -> list[str]:
    results = data.get("results") or []
    if not results:
        return [f"Your documents have nothing on “{data.get('query')}”."]
    lines = [f"From your documents, on “{data.get('query')}”:"]
    for item in results:
        where = item.get("filename")
        if item.get("section"):
            where = f"{where}, {item['section']}"
        lines.append(f"- [{item.get('n')}] {where}: “{_excerpt(str(item.get('text', '')))}”")
    return lines


def _generic_lines(outcome: Outcome) -> list[str]:
    data = outcome.result
    if not isinstance(data, dict):
        return [f"Result of {outcome.name}: {json.dumps(data, ensure_ascii=False)}"]
    scalars = ", ".join(
        f"{key} {value}" for key, value in data.items() if isinstance(value, str | int | float)
    )
    return [f"Result of {outcome.name}: {scalars or 'done'}."]


def _outcome_lines(outcome: Outcome) -> list[str]:
    if not outcome.answered:
        return [f"I could not get {_what(outcome)}: no result came back."]
    if outcome.error is not None:
        return [f"I could not get {_what(outcome)}: {outcome.error}"]
    data = outcome.result
    if not isinstance(data, dict):
        return _generic_lines(outcome)
    writers = {
        "quote": lambda: _quote_lines(data),
        "history": lambda: _history_lines(outcome),
        "indicators": lambda: _indicator_lines(data),
        "risk": lambda: _risk_lines(data),
        "compare": lambda: _compare_lines(data),
        "profile": lambda: _profile_lines(data),
        "watchlist": lambda: _watchlist_lines(data),
        "search_documents": lambda: _documents_lines(data),
    }
    writer = writers.get(outcome.name)
    return writer() if writer else _generic_lines(outcome)


def _paragraphs(lines: Sequence[str]) -> str:
    """Markdown of ``lines``: a list item under its lead-in line or another item, every
    other line a paragraph of its own."""
    text = lines[0] if lines else ""
    for before, line in pairwise(lines):
        in_list = line.startswith("- ") and (before.endswith(":") or before.startswith("- "))
        text += ("\n" if in_list else "\n\n") + line
    return text


def help_text() -> str:
    return "\n".join(
        (
            "No language model is configured, so the offline engine answers: it looks "
            "things up with the tools and writes what they return.",
            "",
            "Ask about prices and quotes, price history over a period, comparisons, risk "
            "(volatility, beta, drawdown, Sharpe), technical indicators (RSI, MACD, moving "
            "averages, Bollinger bands, ATR), company profiles, your watchlist, and what "
            "your documents say.",
            f"The replay data has {', '.join(REPLAY_SYMBOLS[:-1])} and {BENCHMARK} (the "
            "benchmark index).",
            "",
            "For example: “What is AAPL trading at?”, “Compare MSFT and IBM”, “How risky "
            "is my watchlist?”, “RSI and MACD of GOOG”, “What do my documents say about "
            "drawdown?”",
        )
    )


def write_answer(turn: Turn, notes: Sequence[str]) -> str:
    """The answer from this turn's results, in call order, and the notes of the plan."""
    if not turn.question.understood and not turn.outcomes:
        body = [help_text()]
    else:
        sections = [_paragraphs(_outcome_lines(outcome)) for outcome in turn.outcomes]
        body = [*sections, *notes] or [
            "I found nothing to look up in the question.\n\n" + help_text()
        ]
    parts = body if turn.answered_before else [OFFLINE_NOTE, *body]
    return "\n\n".join(parts)


# A clause: up to a comma or semicolon before a space, or the end of a sentence.
_CLAUSE = re.compile(r".*?(?:[,;](?=\s)|[.!?:](?=\s|$)|$)\s*")


def split_sentences(text: str) -> list[str]:
    """``text`` in the pieces it is streamed in: lines, and sentences within them."""
    return [piece for piece in re.findall(r".*?(?:[.!?:](?= )\s*|\n+|$)", text, re.S) if piece]


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
        wanted = plan(turn, request.tools)
        made = turn.made()
        pending = [(name, args) for name, args in wanted.calls if _call_key(name, args) not in made]
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
    previous = _content_text(answer.get("content"))
    if answer.get("role") != "assistant" or ask.get("role") != "user" or not previous:
        return None
    named = {mention.value for mention in extract_numbers(_content_text(ask.get("content")))}
    return _without_numbers(previous, named)


def _without_numbers(text: str, values: set[float]) -> str:
    """``text`` without the clauses that state one of ``values``; a list item left with
    nothing after its label goes too."""
    lines = []
    for line in text.split("\n"):
        clauses = [clause for clause in _CLAUSE.findall(line) if clause]
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
