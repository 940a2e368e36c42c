"""Price alert conditions and their evaluation against one new price.

The semantics follow TradingView's alerts: a level (`greater_than`, `less_than`), a
crossing of a level (either way, up or down), a channel entered or exited, and a move of at
least some percent within a window. `evaluate` is pure: the caller passes the price, its
market time and, for moves, the price at the start of the window, and persists the returned
state only when `Evaluation.changed` is true.

Two rules keep the stored history small and replay-safe:

- A price whose market time is not after the last one evaluated is ignored, so a quote
  delivered twice never fires twice.
- After an `every_time` alert fires it is disarmed, and the price must move back past the
  level (or the channel's edge) by the hysteresis band before it is armed again. While it
  is disarmed the remembered side of the level does not move either, so a price wobbling
  around the level changes nothing and appends nothing to the alert's stream.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Literal, Self, get_args

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, TypeAdapter, model_validator

MIN_WINDOW_SECONDS = 60
MAX_WINDOW_SECONDS = 30 * 24 * 3600
MAX_COOLDOWN_SECONDS = 30 * 24 * 3600
MAX_HYSTERESIS_PCT = 50.0

Side = Literal["above", "below", "inside", "outside"]

_Price = Annotated[float, Field(gt=0, allow_inf_nan=False)]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class GreaterThan(_Model):
    kind: Literal["greater_than"] = "greater_than"
    level: _Price = Field(description="Fires while the price is strictly above this level")


class LessThan(_Model):
    kind: Literal["less_than"] = "less_than"
    level: _Price = Field(description="Fires while the price is strictly below this level")


class Crossing(_Model):
    kind: Literal["crossing"] = "crossing"
    level: _Price = Field(description="Fires when the price crosses this level either way")


class CrossingUp(_Model):
    kind: Literal["crossing_up"] = "crossing_up"
    level: _Price = Field(description="Fires when the price crosses this level from below")


class CrossingDown(_Model):
    kind: Literal["crossing_down"] = "crossing_down"
    level: _Price = Field(description="Fires when the price crosses this level from above")


class _Channel(_Model):
    low: _Price = Field(description="The channel's lower edge (inside includes it)")
    high: _Price = Field(description="The channel's upper edge (inside includes it)")

    @model_validator(mode="after")
    def _low_below_high(self) -> Self:
        if self.low >= self.high:
            raise ValueError("the channel's low is above its high")
        return self


class EnteringChannel(_Channel):
    kind: Literal["entering_channel"] = "entering_channel"


class ExitingChannel(_Channel):
    kind: Literal["exiting_channel"] = "exiting_channel"


class _Move(_Model):
    percent: float = Field(
        gt=0, allow_inf_nan=False, description="The move, in percent of the window's first price"
    )
    window_seconds: int = Field(
        ge=MIN_WINDOW_SECONDS,
        le=MAX_WINDOW_SECONDS,
        description="How far back the reference price lies (60 seconds to 30 days)",
    )


class MovingUpPct(_Move):
    kind: Literal["moving_up_pct"] = "moving_up_pct"


class MovingDownPct(_Move):
    kind: Literal["moving_down_pct"] = "moving_down_pct"

    @model_validator(mode="after")
    def _reachable(self) -> Self:
        if self.percent >= 100:
            raise ValueError("a price cannot fall by 100 percent or more")
        return self


Condition = Annotated[
    GreaterThan
    | LessThan
    | Crossing
    | CrossingUp
    | CrossingDown
    | EnteringChannel
    | ExitingChannel
    | MovingUpPct
    | MovingDownPct,
    Field(discriminator="kind"),
]
CONDITION_ADAPTER: TypeAdapter[Condition] = TypeAdapter(Condition)
# Every kind of condition, in the order of the union above.
CONDITION_KINDS: tuple[str, ...] = tuple(
    member.model_fields["kind"].default for member in get_args(get_args(Condition)[0])
)


class Once(_Model):
    kind: Literal["once"] = "once"


class EveryTime(_Model):
    kind: Literal["every_time"] = "every_time"
    cooldown_seconds: int = Field(
        default=0,
        ge=0,
        le=MAX_COOLDOWN_SECONDS,
        description="After a fire, the condition does not fire again for this long",
    )
    hysteresis_pct: float = Field(
        default=0.5,
        ge=0,
        le=MAX_HYSTERESIS_PCT,
        allow_inf_nan=False,
        description=(
            "How far, in percent of the level or edge, the price must move back before the "
            "alert is armed again; for percent moves, in percentage points below the move"
        ),
    )


Frequency = Annotated[Once | EveryTime, Field(discriminator="kind")]
FREQUENCY_ADAPTER: TypeAdapter[Frequency] = TypeAdapter(Frequency)


class EvaluationState(_Model):
    """What an alert remembers between prices. `EvaluationState()` is a new alert's."""

    side: Side | None = Field(
        default=None,
        description=(
            "Where the last price stood relative to the level or channel, held in place by "
            "the hysteresis band while disarmed; null until the first price primes it"
        ),
    )
    armed: bool = Field(default=True, description="False from a fire until the re-arm")
    last_fired_at: AwareDatetime | None = Field(
        default=None, description="The market time of the last fire"
    )
    last_as_of: AwareDatetime | None = Field(
        default=None, description="The market time of the last price evaluated"
    )
    fire_count: int = Field(default=0, ge=0, description="How often the alert has fired")


@dataclass(frozen=True, slots=True)
class Evaluation:
    fired: bool
    finished: bool
    rearmed: bool
    primed: bool
    changed: bool
    state: EvaluationState
    reason: str


@dataclass(frozen=True, slots=True)
class _Step:
    """One condition's view of a price, before cooldown and frequency are applied."""

    side: Side | None
    armed: bool
    rearmed: bool = False
    primed: bool = False
    trigger: str | None = None  # the notification sentence when the condition fires


def describe(condition: Condition) -> str:
    """The condition as a predicate for an alert's title, e.g. "crosses up through 100.00"."""
    match condition:
        case GreaterThan(level=level):
            return f"is above {format_price(level)}"
        case LessThan(level=level):
            return f"is below {format_price(level)}"
        case Crossing(level=level):
            return f"crosses {format_price(level)}"
        case CrossingUp(level=level):
            return f"crosses up through {format_price(level)}"
        case CrossingDown(level=level):
            return f"crosses down through {format_price(level)}"
        case EnteringChannel():
            return f"enters the channel {_channel(condition)}"
        case ExitingChannel():
            return f"exits the channel {_channel(condition)}"
        case MovingUpPct(percent=percent, window_seconds=window):
            return f"moves up {_percent(percent)} within {_duration(window)}"
        case MovingDownPct(percent=percent, window_seconds=window):
            return f"moves down {_percent(percent)} within {_duration(window)}"


def evaluate(
    condition: Condition,
    frequency: Frequency,
    state: EvaluationState,
    price: float,
    as_of: datetime,
    *,
    reference_price: float | None = None,
) -> Evaluation:
    """Evaluate one alert against one price at market time `as_of`.

    `reference_price` is the price at the start of the window of a `moving_*_pct`
    condition (None while there is not enough history) and is ignored by the others.
    Raises ValueError for a price or reference that is not a positive finite number, or a
    naive `as_of`.
    """
    _check_price(price, "price")
    if reference_price is not None:
        _check_price(reference_price, "reference price")
    if as_of.tzinfo is None or as_of.utcoffset() is None:
        raise ValueError("as_of must carry a timezone")
    done = isinstance(frequency, Once) and state.fire_count > 0
    if state.last_as_of is not None and as_of <= state.last_as_of:
        return _unchanged(
            state,
            done,
            f"a price as of {state.last_as_of.isoformat()} or later was already evaluated",
        )
    if done:
        return _unchanged(state, True, "the alert has already fired once")
    if isinstance(condition, MovingUpPct | MovingDownPct) and reference_price is None:
        return _unchanged(state, False, "not enough price history for the window yet")

    band = frequency.hysteresis_pct if isinstance(frequency, EveryTime) else 0.0
    step = _step(condition, state, price, band, reference_price)
    fired = False
    armed = step.armed
    reason = _quiet_reason(step, price)
    if step.trigger is not None:
        if _cooling_down(frequency, state, as_of):
            # Still armed: a level that holds fires once the cooldown is over.
            reason = f"{step.trigger}, but the alert is cooling down"
        else:
            fired, armed, reason = True, False, step.trigger
    new_state = EvaluationState(
        side=step.side,
        armed=armed,
        last_fired_at=as_of if fired else state.last_fired_at,
        last_as_of=as_of,
        fire_count=state.fire_count + 1 if fired else state.fire_count,
    )
    return Evaluation(
        fired=fired,
        finished=fired and isinstance(frequency, Once),
        rearmed=step.rearmed,
        primed=step.primed,
        # The market time alone moves on every price; storing it would append an event
        # per quote, and the ignore rule only needs it at the changes that are stored.
        changed=new_state.model_copy(update={"last_as_of": state.last_as_of}) != state,
        state=new_state,
        reason=reason,
    )


def format_price(value: float) -> str:
    """Two decimals, or six significant digits for prices below 1 (crypto, pennies)."""
    return f"{value:.2f}" if abs(value) >= 1 else f"{value:.6g}"


def _step(
    condition: Condition,
    state: EvaluationState,
    price: float,
    band_pct: float,
    reference_price: float | None,
) -> _Step:
    match condition:
        case GreaterThan() | LessThan():
            return _level_step(condition, state, price, band_pct)
        case Crossing() | CrossingUp() | CrossingDown():
            return _crossing_step(condition, state, price, band_pct)
        case EnteringChannel() | ExitingChannel():
            return _channel_step(condition, state, price, band_pct)
        case MovingUpPct() | MovingDownPct():
            assert reference_price is not None  # evaluate waits for the history
            return _move_step(condition, state, price, band_pct, reference_price)


def _level_step(
    condition: GreaterThan | LessThan, state: EvaluationState, price: float, band_pct: float
) -> _Step:
    level, band = condition.level, condition.level * band_pct / 100
    if isinstance(condition, GreaterThan):
        met, back = price > level, price <= level - band
        trigger = f"price is above {format_price(level)} (at {format_price(price)})"
    else:
        met, back = price < level, price >= level + band
        trigger = f"price is below {format_price(level)} (at {format_price(price)})"
    rearmed = not state.armed and back
    armed = state.armed or rearmed
    return _Step(None, armed, rearmed=rearmed, trigger=trigger if met and armed else None)


def _crossing_step(
    condition: Crossing | CrossingUp | CrossingDown,
    state: EvaluationState,
    price: float,
    band_pct: float,
) -> _Step:
    level, band = condition.level, condition.level * band_pct / 100
    exact: Side | None = "above" if price > level else "below" if price < level else None
    old = state.side
    if old is None:
        # A crossing needs a previous side; a price exactly on the level gives none yet.
        return _Step(exact, state.armed, primed=exact is not None)
    side, rearmed = old, False
    if state.armed:
        side = exact or old
    elif old == "above" and exact == "below" and price <= level - band:
        side, rearmed = "below", True
    elif old == "below" and exact == "above" and price >= level + band:
        side, rearmed = "above", True
    armed = state.armed or rearmed
    up, down = old == "below" and side == "above", old == "above" and side == "below"
    wanted = {
        "crossing": up or down,
        "crossing_up": up,
        "crossing_down": down,
    }[condition.kind]
    direction = "up" if up else "down"
    trigger = f"price crossed {direction} through {format_price(level)} (at {format_price(price)})"
    return _Step(side, armed, rearmed=rearmed, trigger=trigger if wanted and armed else None)


def _channel_step(
    condition: EnteringChannel | ExitingChannel,
    state: EvaluationState,
    price: float,
    band_pct: float,
) -> _Step:
    low, high = condition.low, condition.high
    low_band, high_band = low * band_pct / 100, high * band_pct / 100
    exact: Side = "inside" if low <= price <= high else "outside"
    old = state.side
    if old is None:
        return _Step(exact, state.armed, primed=True)
    side, rearmed = old, False
    if state.armed:
        side = exact
    elif old == "inside" and (price <= low - low_band or price >= high + high_band):
        side, rearmed = "outside", True
    elif old == "outside" and low + low_band <= price <= high - high_band:
        # A channel narrower than twice the band has no such middle: it stays disarmed.
        side, rearmed = "inside", True
    armed = state.armed or rearmed
    channel = _channel(condition)
    if isinstance(condition, EnteringChannel):
        wanted = old == "outside" and side == "inside"
        trigger = f"price entered the channel {channel} (at {format_price(price)})"
    else:
        wanted = old == "inside" and side == "outside"
        trigger = f"price exited the channel {channel} (at {format_price(price)})"
    return _Step(side, armed, rearmed=rearmed, trigger=trigger if wanted and armed else None)


def _move_step(
    condition: MovingUpPct | MovingDownPct,
    state: EvaluationState,
    price: float,
    band_points: float,
    reference_price: float,
) -> _Step:
    change = (price - reference_price) / reference_price * 100
    up = isinstance(condition, MovingUpPct)
    move = change if up else -change
    rearmed = not state.armed and move < condition.percent - band_points
    armed = state.armed or rearmed
    direction = "up" if up else "down"
    trigger = (
        f"price moved {direction} {_percent(abs(change), digits=2)} within "
        f"{_duration(condition.window_seconds)} "
        f"(from {format_price(reference_price)} to {format_price(price)})"
    )
    met = move >= condition.percent
    return _Step(state.side, armed, rearmed=rearmed, trigger=trigger if met and armed else None)


def _cooling_down(frequency: Frequency, state: EvaluationState, as_of: datetime) -> bool:
    if not isinstance(frequency, EveryTime) or state.last_fired_at is None:
        return False
    return (as_of - state.last_fired_at).total_seconds() < frequency.cooldown_seconds


def _unchanged(state: EvaluationState, finished: bool, reason: str) -> Evaluation:
    return Evaluation(
        fired=False,
        finished=finished,
        rearmed=False,
        primed=False,
        changed=False,
        state=state,
        reason=reason,
    )


def _quiet_reason(step: _Step, price: float) -> str:
    if step.primed:
        return f"the first price {format_price(price)} sets the starting side"
    if step.rearmed:
        return f"price moved back to {format_price(price)}: the alert is armed again"
    return f"no alert at {format_price(price)}"


def _check_price(value: float, name: str) -> None:
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"the {name} must be a positive finite number, not {value!r}")


def _channel(condition: EnteringChannel | ExitingChannel) -> str:
    return f"{format_price(condition.low)} to {format_price(condition.high)}"


def _percent(value: float, *, digits: int | None = None) -> str:
    return f"{value:.{digits}f}%" if digits is not None else f"{value:g}%"


def _duration(seconds: int) -> str:
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds % size == 0:
            count = seconds // size
            return f"{count} {unit}" if count == 1 else f"{count} {unit}s"
    return f"{seconds} seconds"
