"""The report as Markdown: the narrative, then the facts as tables (computed by code),
the cited passages, and how the narrative's numbers are grounded. Also the one-line
summary an inbox notification shows, written from the facts alone."""

from __future__ import annotations

from typing import Any

from marketscope_chat.analyses.facts import Facts, SymbolFacts
from marketscope_chat.grounding import GroundingReport

NO_VALUE = "n/a"


def _percent(value: float | None) -> str:
    return NO_VALUE if value is None else f"{value * 100:.2f}%"


def _plain(value: float | None) -> str:
    return NO_VALUE if value is None else f"{value:,.2f}"


def _cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    return [
        "| " + " | ".join(header) + " |",
        "|" + "|".join("---" for _ in header) + "|",
        *("| " + " | ".join(_cell(cell) for cell in row) + " |" for row in rows),
    ]


def _change(stock: SymbolFacts) -> str:
    if stock.change is None or stock.change_percent is None:
        return NO_VALUE
    return f"{stock.change:+,.2f} ({stock.change_percent:+.2f}%)"


def _technical(stock: SymbolFacts) -> str:
    parts = []
    if stock.rsi_14 is not None:
        parts.append(f"RSI {stock.rsi_14:.2f} ({stock.rsi_state})")
    if stock.macd is not None:
        parts.append(f"MACD {stock.macd.state}")
    sma = stock.sma
    if sma.price_vs_sma_50:
        parts.append(f"{sma.price_vs_sma_50} SMA 50")
    if sma.price_vs_sma_200:
        parts.append(f"{sma.price_vs_sma_200} SMA 200")
    if sma.trend:
        parts.append(f"{sma.trend} {sma.cross_on}")
    return ", ".join(parts) or NO_VALUE


def _stock_tables(facts: Facts) -> list[str]:
    market = _table(
        ["Symbol", "Price", "Change", "As of", "Source"],
        [
            [s.symbol, _plain(s.price), _change(s), s.as_of[:10], s.source + (" (stale)" * s.stale)]
            for s in facts.stocks
        ],
    )
    risk = _table(
        ["Symbol", "Return (ann.)", "Volatility", "Beta", "Sharpe", "Sortino", "Max DD", "VaR 95"],
        [
            [
                s.symbol,
                _percent(s.annualised_return),
                _percent(s.volatility),
                _plain(s.beta),
                _plain(s.sharpe),
                _plain(s.sortino),
                _percent(s.max_drawdown),
                _percent(s.var_95),
            ]
            for s in facts.stocks
        ],
    )
    technical = _table(
        ["Symbol", "Technical picture"], [[s.symbol, _technical(s)] for s in facts.stocks]
    )
    return [*market, "", *risk, "", *technical]


def _portfolio_tables(facts: Facts) -> list[str]:
    portfolio = facts.portfolio
    if portfolio is None:
        return []
    lines = [
        "### Portfolio",
        "",
        f"Volatility {_percent(portfolio.volatility)}, one-day VaR 95 "
        f"{_percent(portfolio.var_95)}, return (ann.) {_percent(portfolio.annualised_return)}, "
        f"Sharpe {_plain(portfolio.sharpe)}, beta {_plain(portfolio.beta)}, max drawdown "
        f"{_percent(portfolio.max_drawdown)}, diversification ratio "
        f"{_plain(portfolio.diversification_ratio)}; largest risk contributor: "
        f"**{portfolio.largest_risk_contributor}**.",
        "",
        *_table(
            ["Symbol", "Weight", "Volatility", "Share of risk"],
            [
                [c.symbol, _percent(c.weight), _percent(c.volatility), _percent(c.contribution)]
                for c in portfolio.risk_contributions
            ],
        ),
        "",
        "Correlation of daily returns:",
        "",
    ]
    symbols = list(portfolio.correlation)
    lines += _table(
        ["", *symbols],
        [[a, *(_plain(portfolio.correlation[a][b]) for b in symbols)] for a in symbols],
    )
    return lines


def _passages(facts: Facts) -> list[str]:
    lines = []
    for stock in facts.stocks:
        for passage in stock.passages:
            where = passage.filename + (f", {passage.section}" if passage.section else "")
            lines.append(f"[{passage.n}] {stock.symbol}: {where}: “{passage.excerpt}”")
    return ["### Passages from your documents", "", *lines] if lines else []


def _grounding(report: GroundingReport) -> list[str]:
    line = (
        f"{report.grounded} of {len(report.numbers)} numbers in the narrative are found in "
        f"the facts"
    )
    if report.ungrounded:
        line += f"; not found: {', '.join(report.ungrounded_texts)}"
    return ["### Grounding", "", line + "."]


def render_markdown(
    title: str, facts: Facts, narrative: str, grounding: GroundingReport, period: str
) -> str:
    lines = [
        f"# {title}",
        "",
        f"Horizon {facts.horizon} ({period}), benchmark {facts.benchmark}.",
        "",
        "## Narrative",
        "",
        narrative.strip(),
        "",
        "## Facts",
        "",
        "Computed from market data by code, not written by the model.",
        "",
        *_stock_tables(facts),
        "",
        *_portfolio_tables(facts),
        "",
        *_passages(facts),
        "",
        *_grounding(grounding),
    ]
    text = "\n".join(lines)
    while "\n\n\n" in text:
        text = text.replace("\n\n\n", "\n\n")
    return text.strip() + "\n"


def summary_of(facts: Facts) -> str:
    """One line for a notification, from the facts only."""
    if facts.portfolio is not None:
        p = facts.portfolio
        return (
            f"Portfolio of {', '.join(facts.symbols)}: volatility {_percent(p.volatility)}, "
            f"one-day VaR 95 {_percent(p.var_95)}, diversification ratio "
            f"{_plain(p.diversification_ratio)}, most risk from {p.largest_risk_contributor}."
        )
    s = facts.stocks[0]
    return (
        f"{s.symbol} at {_plain(s.price)}, {_change(s)}: return {_percent(s.annualised_return)}"
        f" and volatility {_percent(s.volatility)} over {facts.horizon}, RSI "
        f"{_plain(s.rsi_14)}."
    )
