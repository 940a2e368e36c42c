"""The alerts the evaluation phase sets and the prices it sends: synthetic symbols
(``BN000``...), a starting price for each, and a deterministic mix of every condition the
notifier has, with both frequencies, spread over the symbols and their owners.

Levels lie 1-8 % away from the starting price (channels and windows likewise), so the
first price primes the crossings and channels and fires nothing, a price within 0.2 % of
it changes nothing, and a move of up to 2 % fires or re-arms some of them.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from marketscope_notifier.alerts.conditions import (
    CONDITION_KINDS,
    Condition,
    Crossing,
    CrossingDown,
    CrossingUp,
    EnteringChannel,
    EveryTime,
    ExitingChannel,
    Frequency,
    GreaterThan,
    LessThan,
    MovingDownPct,
    MovingUpPct,
    Once,
)
from marketscope_notifier.alerts.service import AlertSpec

KINDS = CONDITION_KINDS
QUIET_JITTER = 0.002  # a quiet price lies within 0.2 % of the round before's
MOVE = 0.02  # a moving price lies within 2 % of the starting one
# Market time of the first round; each later round is an hour on (so that the 1-hour
# windows of the percent moves have a price at their start).
FIRST_AS_OF = datetime(2024, 6, 3, 14, 0, tzinfo=UTC)
ROUND_STEP = timedelta(hours=1)


def symbol_name(index: int) -> str:
    return f"BN{index:03d}"


def owner_name(index: int) -> str:
    return f"usr_bench_{index:04d}"


@dataclass(frozen=True)
class Population:
    symbols: list[str]
    start_prices: dict[str, float]
    owners: int
    seed: int

    @classmethod
    def of(cls, symbols: int, owners: int, seed: int) -> Population:
        rng = random.Random(seed)
        names = [symbol_name(index) for index in range(symbols)]
        prices = {name: round(rng.uniform(10, 500), 2) for name in names}
        return cls(names, prices, owners, seed)

    def alerts(self, count: int) -> Iterator[tuple[str, AlertSpec]]:
        """``count`` (owner, spec) pairs, dealt round-robin over the symbols; the kinds
        rotate so that every symbol has a mix, and every other alert is ``every_time``."""
        rng = random.Random(self.seed + 1)
        for number in range(count):
            symbol = self.symbols[number % len(self.symbols)]
            kind = KINDS[(number // len(self.symbols) + number % len(self.symbols)) % len(KINDS)]
            condition = _condition(kind, self.start_prices[symbol], rng)
            owner = owner_name(rng.randrange(self.owners))
            yield owner, AlertSpec(symbol, condition, _frequency(number, rng), None, None)

    def as_of(self, round_number: int) -> datetime:
        return FIRST_AS_OF + ROUND_STEP * round_number

    def first_prices(self) -> dict[str, float]:
        return dict(self.start_prices)

    def quiet_prices(self, previous: dict[str, float], seed: int) -> dict[str, float]:
        rng = random.Random(seed)
        jitter = QUIET_JITTER
        return {s: _cents(p * (1 + rng.uniform(-jitter, jitter))) for s, p in previous.items()}

    def moved_prices(self, seed: int) -> dict[str, float]:
        rng = random.Random(seed)
        return {s: _cents(p * (1 + rng.uniform(-MOVE, MOVE))) for s, p in self.start_prices.items()}


def _cents(value: float) -> float:
    return round(value, 2)


def _away(rng: random.Random) -> float:
    return rng.uniform(0.01, 0.08)


def _condition(kind: str, price: float, rng: random.Random) -> Condition:
    up, down = _cents(price * (1 + _away(rng))), _cents(price * (1 - _away(rng)))
    match kind:
        case "greater_than":
            return GreaterThan(level=up)
        case "less_than":
            return LessThan(level=down)
        case "crossing":
            return Crossing(level=up if rng.random() < 0.5 else down)
        case "crossing_up":
            return CrossingUp(level=up)
        case "crossing_down":
            return CrossingDown(level=down)
        case "entering_channel":  # the channel lies above or below the price
            low, high = sorted((up, _cents(up * (1 + _away(rng)))))
            if rng.random() < 0.5:
                low, high = sorted((_cents(down * (1 - _away(rng))), down))
            return EnteringChannel(low=low, high=high)
        case "exiting_channel":  # the price lies inside it
            return ExitingChannel(low=down, high=up)
        case "moving_up_pct":
            return MovingUpPct(percent=round(rng.uniform(1, 5), 1), window_seconds=3600)
        case "moving_down_pct":
            return MovingDownPct(percent=round(rng.uniform(1, 5), 1), window_seconds=3600)
    raise ValueError(f"unknown condition kind {kind!r}")


def _frequency(number: int, rng: random.Random) -> Frequency:
    if number % 2 == 0:
        return Once()
    return EveryTime(cooldown_seconds=rng.choice((0, 0, 1800)), hysteresis_pct=0.5)
