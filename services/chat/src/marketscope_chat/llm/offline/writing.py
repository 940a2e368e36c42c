"""The offline engine's answers: templates filled only with values from tool results."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from itertools import pairwise
from typing import Any

from marketscope_chat.llm.offline.reading import (
    BENCHMARK,
    OFFLINE_NOTE,
    REPLAY_SYMBOLS,
    Outcome,
    Turn,
)

# --- writing ----------------------------------------------------------------------------


def number(value: Any) -> str:
    """A result's number as written in answers: two decimals, four when smaller than 0.1
    (a MACD histogram of 0.0042 is not 0.00)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    text = f"{value:,.2f}" if abs(value) >= 0.1 else f"{value:.4f}"
    return text.lstrip("-") if float(text.replace(",", "")) == 0 else text


def fraction_percent(value: Any) -> str:
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
    amount = number(abs(change))
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
        f"**{quote.get('symbol')}** last traded at {number(quote.get('price'))} "
        f"{quote.get('currency', '')} on {_date(quote.get('as_of'))} "
        f"(source: {quote.get('source')})"
    )
    move = _move(quote.get("change"), quote.get("change_percent"))
    if move and quote.get("previous_close") is not None:
        line += f", {move} from the previous close of {number(quote['previous_close'])}."
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
        f"(source: {data.get('source')}): the close went from {number(summary['first_close'])} "
        f"to {number(summary.get('last_close'))}"
    )
    change = summary.get("change_percent")
    if isinstance(change, int | float):
        line += f", {'up' if change >= 0 else 'down'} {abs(change):.2f}%"
    line += "."
    extremes = [f"high {number(summary.get('high'))}", f"low {number(summary.get('low'))}"]
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
        f"{number(data.get('close'))}, {data.get('bars_used')} daily bars, source: "
        f"{data.get('source')}):"
    ]

    def listed(keys: Sequence[str]) -> str:
        return ", ".join(
            f"`{key}` {number(values[key]) if values.get(key) is not None else 'n/a'}"
            for key in keys
        )

    if "sma" in names:
        lines.append(f"- Simple moving averages: {listed(('sma_20', 'sma_50', 'sma_200'))}.")
        lines += _close_against(data.get("close"), values, ("sma_20", "sma_50", "sma_200"))
    if "ema" in names:
        lines.append(f"- Exponential moving averages: {listed(('ema_12', 'ema_26'))}.")
    if "rsi" in names:
        lines.append(f"- RSI: {listed(('rsi_14',))}{_rsi_reading(data)}.")
    if "macd" in names:
        macd = values.get("macd")
        lines.append(
            f"- MACD {number(macd['macd'])}, signal {number(macd['signal'])}, histogram "
            f"{number(macd['histogram'])}."
            if macd
            else "- MACD: not enough bars."
        )
    if "bollinger" in names:
        bands = values.get("bollinger")
        lines.append(
            f"- Bollinger bands: middle {number(bands['middle'])}, upper "
            f"{number(bands['upper'])}, lower {number(bands['lower'])}, `percent_b` "
            f"{number(bands['percent_b'])}."
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


def _close_against(close: Any, values: dict[str, Any], keys: Sequence[str]) -> list[str]:
    """Where the close stands against each moving average, in words (no new numbers)."""
    if not isinstance(close, int | float):
        return []
    sides: dict[str, list[str]] = {"above": [], "below": []}
    for key in keys:
        average = values.get(key)
        if isinstance(average, int | float):
            sides["above" if close >= average else "below"].append(f"`{key}`")
    said = [f"{side} {_and(averages)}" for side, averages in sides.items() if averages]
    return [f"- The close is {' and '.join(said)}."] if said else []


def _and(items: Sequence[str]) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


def _rsi_reading(data: dict[str, Any]) -> str:
    """How the RSI reads by its conventional lines, as the tool's `readings` give it."""
    reading = (data.get("readings") or {}).get("rsi_14")
    if not reading:
        return ""
    over, under = f"{reading['overbought_at']:g}", f"{reading['oversold_at']:g}"
    if reading["state"] == "overbought":
        return f", at or above {over}: overbought by the usual reading"
    if reading["state"] == "oversold":
        return f", at or below {under}: oversold by the usual reading"
    return f", between {under} and {over}: neither overbought nor oversold"


def _risk_lines(risk: dict[str, Any]) -> list[str]:
    against = f", beta against {risk['benchmark']}" if risk.get("benchmark") else ""
    lines = [
        f"Risk of {_symbols_text(risk.get('symbols') or ())} from {risk.get('start')} to "
        f"{risk.get('end')} ({risk.get('observations')} daily returns{against}, risk-free "
        f"rate {fraction_percent(risk.get('risk_free_rate'))}):"
    ]
    for metric in risk.get("metrics") or ():
        ratios = ", ".join(
            f"{label} {number(metric.get(key)) if metric.get(key) is not None else 'n/a'}"
            for label, key in (("beta", "beta"), ("Sharpe", "sharpe"), ("Sortino", "sortino"))
        )
        lines.append(
            f"- **{metric.get('symbol')}**: annualised return "
            f"{fraction_percent(metric.get('annualised_return'))}, annualised volatility "
            f"{fraction_percent(metric.get('annualised_volatility'))}, {ratios}, max drawdown "
            f"{fraction_percent(metric.get('max_drawdown'))}, one-day VaR (`var_95`) "
            f"{fraction_percent(metric.get('var_95'))}."
        )
    symbols = [str(symbol) for symbol in risk.get("symbols") or ()]
    matrix: dict[str, dict[str, Any]] = risk.get("correlation") or {}
    pairs = [
        f"{a}/{b} {number(matrix[a][b])}"
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
        return ["Your watchlist is empty: add symbols on the [dashboard](/#/)."]
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
            "averages, Bollinger bands, ATR), company profiles, your watchlist, what "
            "your documents say, and what a term means (the knowledge base's guides).",
            f"The replay data has {', '.join(REPLAY_SYMBOLS[:-1])} and {BENCHMARK} (the "
            "benchmark index).",
            "",
            "For example: “What is AAPL trading at?”, “Compare MSFT and IBM”, “How risky "
            "is my watchlist?”, “RSI and MACD of GOOG”, “What do my documents say about "
            "drawdown?”, “What does a P/E ratio tell me?”",
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
CLAUSE = re.compile(r".*?(?:[,;](?=\s)|[.!?:](?=\s|$)|$)\s*")


def split_sentences(text: str) -> list[str]:
    """``text`` in the pieces it is streamed in: lines, and sentences within them."""
    return [piece for piece in re.findall(r".*?(?:[.!?:](?= )\s*|\n+|$)", text, re.S) if piece]
