"""The indicator, risk and portfolio risk reports the API answers, built from cached daily
histories."""

from __future__ import annotations

import math
from collections.abc import Sequence

import pandas as pd  # type: ignore[import-untyped]

from marketscope_market_data.analytics import indicators as ind
from marketscope_market_data.analytics.frames import adjusted_frame
from marketscope_market_data.analytics.risk import (
    DegeneratePortfolio,
    correlation,
    daily_returns,
    portfolio_risk,
    risk_metrics,
)
from marketscope_market_data.errors import NotEnoughData
from marketscope_market_data.schemas import (
    BollingerValue,
    CrossSignal,
    HistoryResponse,
    IndicatorName,
    Indicators,
    IndicatorsResponse,
    MacdValue,
    PortfolioMetrics,
    PortfolioRiskResponse,
    RiskContribution,
    RiskResponse,
    SymbolRisk,
)

MIN_RISK_OBSERVATIONS = 20
# The benchmark's column among the holdings' (a name no ticker can have).
_BENCHMARK = "__benchmark__"


def _last(series: pd.Series) -> float | None:
    if series.empty:
        return None
    value = float(series.iloc[-1])
    return None if math.isnan(value) else value


def indicator_report(
    history: HistoryResponse, names: Sequence[IndicatorName]
) -> IndicatorsResponse:
    frame = adjusted_frame(history.bars)
    if frame.empty:
        raise NotEnoughData(f"No daily bars of {history.symbol} to compute indicators from.")
    close = frame["close"]
    wanted = set(names)
    values: dict[str, object] = {}
    if "sma" in wanted:
        values.update(
            sma_20=_last(ind.sma(close, 20)),
            sma_50=_last(ind.sma(close, 50)),
            sma_200=_last(ind.sma(close, 200)),
        )
    if "ema" in wanted:
        values.update(ema_12=_last(ind.ema(close, 12)), ema_26=_last(ind.ema(close, 26)))
    if "rsi" in wanted:
        values["rsi_14"] = _last(ind.rsi(close, 14))
    if "macd" in wanted and (macd := ind.macd(close)) is not None:
        values["macd"] = MacdValue(macd=macd.macd, signal=macd.signal, histogram=macd.histogram)
    if "bollinger" in wanted and (bands := ind.bollinger(close)) is not None:
        values["bollinger"] = BollingerValue(
            middle=bands.middle, upper=bands.upper, lower=bands.lower, percent_b=bands.percent_b
        )
    if "atr" in wanted:
        values["atr_14"] = _last(ind.atr(frame["high"], frame["low"], close, 14))
    if "cross" in wanted and (cross := ind.last_cross(close)) is not None:
        values["cross"] = CrossSignal(
            kind=cross.kind, on=cross.on, fast_above_slow=cross.fast_above_slow
        )
    return IndicatorsResponse(
        symbol=history.symbol,
        as_of=history.bars[-1].date,
        close=history.bars[-1].close,
        bars_used=len(history.bars),
        names=list(dict.fromkeys(names)),
        indicators=Indicators.model_validate(values),
        source=history.source,
        stale=history.stale,
    )


def _aligned_returns(
    histories: Sequence[HistoryResponse], benchmark: HistoryResponse | None
) -> tuple[pd.DataFrame, pd.DataFrame, pd.Series | None]:
    """Adjusted closes on the days every series (the benchmark too) traded, their daily
    returns, and the benchmark's returns among them."""
    closes = pd.DataFrame(
        {history.symbol: adjusted_frame(history.bars)["close"] for history in histories}
    )
    if benchmark is not None:
        closes[_BENCHMARK] = adjusted_frame(benchmark.bars)["close"]
    aligned = closes.dropna()
    returns = daily_returns(aligned)
    if len(returns) < MIN_RISK_OBSERVATIONS:
        raise NotEnoughData(
            f"Only {len(returns)} daily returns common to every series; "
            f"at least {MIN_RISK_OBSERVATIONS} are needed."
        )
    return aligned, returns, returns.get(_BENCHMARK)


def _symbol_risks(
    symbols: Sequence[str],
    aligned: pd.DataFrame,
    returns: pd.DataFrame,
    benchmark_returns: pd.Series | None,
    risk_free_rate: float,
) -> list[SymbolRisk]:
    return [
        SymbolRisk(
            symbol=symbol,
            **vars(
                risk_metrics(
                    aligned[symbol],
                    returns[symbol],
                    benchmark_returns,
                    risk_free_rate=risk_free_rate,
                )
            ),
        )
        for symbol in symbols
    ]


def _is_stale(histories: Sequence[HistoryResponse], benchmark: HistoryResponse | None) -> bool:
    return any(h.stale for h in histories) or bool(benchmark and benchmark.stale)


def risk_report(
    histories: Sequence[HistoryResponse],
    benchmark: HistoryResponse | None,
    *,
    risk_free_rate: float,
) -> RiskResponse:
    aligned, returns, benchmark_returns = _aligned_returns(histories, benchmark)
    symbols = [history.symbol for history in histories]
    return RiskResponse(
        symbols=symbols,
        benchmark=None if benchmark is None else benchmark.symbol,
        start=pd.Timestamp(aligned.index[0]).date(),
        end=pd.Timestamp(aligned.index[-1]).date(),
        observations=len(returns),
        risk_free_rate=risk_free_rate,
        metrics=_symbol_risks(symbols, aligned, returns, benchmark_returns, risk_free_rate),
        correlation=correlation(returns[symbols]),
        stale=_is_stale(histories, benchmark),
    )


def portfolio_report(
    histories: Sequence[HistoryResponse],
    weights: Sequence[float],
    benchmark: HistoryResponse | None,
    *,
    risk_free_rate: float,
) -> PortfolioRiskResponse:
    """Risk of the holdings ``histories`` rebalanced daily to ``weights`` (one each, in
    the same order), over the same aligned returns as each holding's own metrics."""
    aligned, returns, benchmark_returns = _aligned_returns(histories, benchmark)
    symbols = [history.symbol for history in histories]
    try:
        portfolio = portfolio_risk(
            returns[symbols], weights, benchmark_returns, risk_free_rate=risk_free_rate
        )
    except DegeneratePortfolio as exc:
        raise NotEnoughData(
            "The portfolio's daily returns do not vary over the span: no risk to measure."
        ) from exc
    contributions = [
        RiskContribution(symbol=symbol, weight=weight, volatility=volatility, contribution=share)
        for symbol, weight, volatility, share in zip(
            symbols, weights, portfolio.volatilities, portfolio.contributions, strict=True
        )
    ]
    return PortfolioRiskResponse(
        symbols=symbols,
        weights=list(weights),
        benchmark=None if benchmark is None else benchmark.symbol,
        start=pd.Timestamp(aligned.index[0]).date(),
        end=pd.Timestamp(aligned.index[-1]).date(),
        observations=len(returns),
        risk_free_rate=risk_free_rate,
        metrics=_symbol_risks(symbols, aligned, returns, benchmark_returns, risk_free_rate),
        portfolio=PortfolioMetrics(**vars(portfolio.metrics)),
        diversification_ratio=portfolio.diversification_ratio,
        risk_contributions=contributions,
        largest_risk_contributor=max(contributions, key=lambda c: c.contribution).symbol,
        correlation=correlation(returns[symbols]),
        stale=_is_stale(histories, benchmark),
    )
