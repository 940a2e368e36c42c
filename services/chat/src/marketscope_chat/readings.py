"""The conventional readings of indicator values, shared by the chat's tools and the
analyses' facts: RSI(14) at or above 70 reads as overbought, at or below 30 as oversold
(Wilder's lines)."""

from __future__ import annotations

from typing import Literal

RSI_OVERBOUGHT = 70.0
RSI_OVERSOLD = 30.0

RsiState = Literal["overbought", "oversold", "neutral"]


def rsi_state(rsi: float | None) -> RsiState | None:
    """How an RSI value reads; None when there is no value."""
    if rsi is None:
        return None
    if rsi >= RSI_OVERBOUGHT:
        return "overbought"
    return "oversold" if rsi <= RSI_OVERSOLD else "neutral"
