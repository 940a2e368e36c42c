"""The argument types the tools share. The model sees them as JSON Schema, so the
descriptions are written for it; the literals follow market-data's HTTP API."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

# market-data's path pattern for a ticker, once upper-cased.
SYMBOL_PATTERN = r"^[A-Z0-9^][A-Z0-9.\-^=]{0,14}$"

Interval = Literal["1d", "1wk", "1mo"]
Period = Literal["1mo", "3mo", "6mo", "ytd", "1y", "2y", "5y", "10y", "max"]
IndicatorName = Literal["sma", "ema", "rsi", "macd", "bollinger", "atr", "cross"]


def _upper(value: Any) -> Any:
    return value.strip().upper() if isinstance(value, str) else value


def _distinct(symbols: list[str]) -> list[str]:
    repeated = sorted({symbol for symbol in symbols if symbols.count(symbol) > 1})
    if repeated:
        raise ValueError(f"symbols repeat: {', '.join(repeated)}")
    return symbols


Symbol = Annotated[
    str,
    BeforeValidator(_upper),
    Field(
        pattern=SYMBOL_PATTERN,
        description="Ticker symbol, e.g. AAPL; indices start with ^ (^GSPC is the S&P 500)",
    ),
]
PeriodField = Annotated[
    Period,
    Field(description="How far back from the latest data: 1mo to 10y, ytd, or max"),
]


# Lists of tickers name each once; their length limits are set where they are used.
Symbols = Annotated[list[Symbol], AfterValidator(_distinct)]


class Arguments(BaseModel):
    """Base of the tools' arguments: keys the model made up are ignored, not fatal."""

    model_config = ConfigDict(frozen=True, extra="ignore")
