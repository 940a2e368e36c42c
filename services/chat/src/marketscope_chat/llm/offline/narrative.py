"""The offline engine's narrative of an analysis report: sentences filled only with the
values of the report's facts (the ``analysis_facts`` result), numbers written as the
facts give them or as percentages of the fractions."""

from __future__ import annotations

from typing import Any

from marketscope_chat.llm.offline.writing import fraction_percent, number

FACTS_TOOL = "analysis_facts"


def _ratio(label: str, value: Any) -> str:
    return f"{label} {number(value)}" if isinstance(value, int | float) else f"no {label}"


def _move(stock: dict[str, Any]) -> str:
    change, percent = stock.get("change"), stock.get("change_percent")
    if not isinstance(change, int | float) or not isinstance(percent, int | float):
        return "with no previous close to compare with"
    if change == 0:
        return "unchanged on the day"
    direction = "up" if change > 0 else "down"
    return f"{direction} {number(abs(change))} ({abs(percent):.2f}%) on the day"


def _technical(stock: dict[str, Any]) -> str:
    parts = []
    if isinstance(stock.get("rsi_14"), int | float):
        parts.append(f"RSI(14) is {number(stock['rsi_14'])} ({stock.get('rsi_state')})")
    macd = stock.get("macd")
    if isinstance(macd, dict):
        parts.append(
            f"MACD {number(macd['macd'])} against its signal {number(macd['signal'])} is "
            f"{macd['state']}"
        )
    sma = stock.get("sma") or {}
    sides = [
        f"{side} its {label} ({number(sma[key])})"
        for label, key, side in (
            ("SMA 50", "sma_50", sma.get("price_vs_sma_50")),
            ("SMA 200", "sma_200", sma.get("price_vs_sma_200")),
        )
        if side and isinstance(sma.get(key), int | float)
    ]
    if sides:
        parts.append("the price is " + " and ".join(sides))
    if sma.get("trend"):
        parts.append(f"the last SMA 50/200 cross was a {sma['trend']} on {sma.get('cross_on')}")
    return "; ".join(parts) + "." if parts else "There are too few bars for indicators."


def _stock_section(stock: dict[str, Any], horizon: str, benchmark: str) -> list[str]:
    name = f" ({stock['name']})" if stock.get("name") else ""
    lines = [
        f"### {stock['symbol']}{name}",
        f"{stock['symbol']} last traded at {number(stock['price'])} {stock.get('currency', '')} "
        f"on {str(stock.get('as_of'))[:10]} (source: {stock.get('source')}), {_move(stock)}.",
        f"Over the {horizon} horizon ({stock.get('start')} to {stock.get('end')}) its "
        f"annualised return was {fraction_percent(stock['annualised_return'])} with an "
        f"annualised volatility of {fraction_percent(stock['volatility'])}; "
        f"{_ratio(f'beta to {benchmark}', stock.get('beta'))}, "
        f"{_ratio('Sharpe', stock.get('sharpe'))}, {_ratio('Sortino', stock.get('sortino'))}. "
        f"Its deepest drawdown was {fraction_percent(stock['max_drawdown'])} and its one-day "
        f"95% VaR is {fraction_percent(stock['var_95'])}.",
        _technical(stock),
    ]
    passages = stock.get("passages") or []
    if passages:
        cited = ", ".join(f"{p['filename']} [{p['n']}]" for p in passages)
        lines.append(f"Your documents mention {stock['symbol']}: {cited}.")
    elif stock.get("documents_error"):
        lines.append(f"Your documents could not be searched: {stock['documents_error']}")
    return lines


def _portfolio_section(portfolio: dict[str, Any]) -> list[str]:
    weights = ", ".join(
        f"{symbol} {fraction_percent(weight)}" for symbol, weight in portfolio["weights"].items()
    )
    largest = portfolio["largest_risk_contributor"]
    share = next(
        (
            item["contribution"]
            for item in portfolio["risk_contributions"]
            if item["symbol"] == largest
        ),
        None,
    )
    carried = f" ({fraction_percent(share)} of the variance)" if share is not None else ""
    return [
        "### The portfolio",
        f"Weighted {weights}, the portfolio's annualised volatility was "
        f"{fraction_percent(portfolio['volatility'])} and its one-day 95% VaR is "
        f"{fraction_percent(portfolio['var_95'])}; its annualised return was "
        f"{fraction_percent(portfolio['annualised_return'])}, "
        f"{_ratio('Sharpe', portfolio.get('sharpe'))}, deepest drawdown "
        f"{fraction_percent(portfolio['max_drawdown'])}.",
        f"The diversification ratio is {number(portfolio['diversification_ratio'])}; "
        f"{largest} carries the most risk{carried}.",
    ]


def narrative_lines(facts: dict[str, Any]) -> list[str]:
    """The narrative's paragraphs and headings, from the facts alone."""
    stocks: list[dict[str, Any]] = facts.get("stocks") or []
    horizon, benchmark = str(facts.get("horizon")), str(facts.get("benchmark"))
    what = "the portfolio of " if facts.get("kind") == "portfolio" else ""
    overview = (
        f"This report covers {what}{', '.join(facts.get('symbols') or [])} over a "
        f"{horizon} horizon, with beta measured against {benchmark}."
    )
    if stocks:
        calmest = min(stocks, key=lambda s: s["volatility"])
        best = max(stocks, key=lambda s: s["annualised_return"])
        if len(stocks) > 1:
            overview += (
                f" {best['symbol']} had the highest annualised return "
                f"({fraction_percent(best['annualised_return'])}) and {calmest['symbol']} the "
                f"lowest volatility ({fraction_percent(calmest['volatility'])})."
            )
    lines = [overview]
    if facts.get("question"):
        lines.append(
            "The offline engine cannot answer free questions beyond these facts; the figures "
            "below are what the data says."
        )
    for stock in stocks:
        lines += _stock_section(stock, horizon, benchmark)
    if isinstance(facts.get("portfolio"), dict):
        lines += _portfolio_section(facts["portfolio"])
    return lines
