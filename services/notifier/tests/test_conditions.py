from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import TypeAdapter, ValidationError

from marketscope_notifier.alerts import (
    CONDITION_ADAPTER,
    FREQUENCY_ADAPTER,
    Condition,
    Crossing,
    CrossingDown,
    CrossingUp,
    EnteringChannel,
    Evaluation,
    EvaluationState,
    EveryTime,
    ExitingChannel,
    Frequency,
    GreaterThan,
    LessThan,
    MovingDownPct,
    MovingUpPct,
    Once,
    describe,
    evaluate,
)

START = datetime(2024, 6, 3, 14, 30, tzinfo=UTC)
EVERY = EveryTime()  # band 0.5 %, no cooldown
WOBBLE = [99.9, 100.1, 99.9, 100.1, 99.9, 100.1]

# A quote is a price, or a (price, reference price) pair for the percent moves.
Quote = float | tuple[float, float | None]


def _at(index: int) -> datetime:
    return START + timedelta(minutes=index)


def _split(quote: Quote) -> tuple[float, float | None]:
    return quote if isinstance(quote, tuple) else (quote, None)


def run(
    condition: Condition,
    frequency: Frequency,
    quotes: Sequence[Quote],
    state: EvaluationState | None = None,
) -> list[Evaluation]:
    """Feeds the quotes one a minute, carrying the returned state as a caller would."""
    state = state or EvaluationState()
    results = []
    for minute, quote in enumerate(quotes):
        price, reference = _split(quote)
        at = _at(minute)
        result = evaluate(condition, frequency, state, price, at, reference_price=reference)
        results.append(result)
        state = result.state
    return results


def fired_at(results: list[Evaluation]) -> list[int]:
    return [i for i, result in enumerate(results) if result.fired]


PATHS = [
    # (condition, frequency, quotes, the indices that fire)
    pytest.param(GreaterThan(level=100), EVERY, [99, 101, 100.2, 99.6, 101], [1], id="gt-band"),
    pytest.param(GreaterThan(level=100), EVERY, [101, 99.5, 100.5], [0, 2], id="gt-rearm-at-band"),
    pytest.param(GreaterThan(level=100), Once(), [99, 101, 95, 101], [1], id="gt-once"),
    pytest.param(LessThan(level=100), EVERY, [99, 99.8, 100.4, 100.6, 99], [0, 4], id="lt-band"),
    pytest.param(CrossingUp(level=100), EVERY, [101, 102], [], id="up-first-primes-above"),
    pytest.param(CrossingUp(level=100), EVERY, [99, 101], [1], id="up-first-primes-below"),
    pytest.param(CrossingUp(level=100), EVERY, WOBBLE, [1], id="up-wobble"),
    pytest.param(CrossingUp(level=100), EVERY, [*WOBBLE, 99.4, 100.1], [1, 7], id="up-rearm"),
    pytest.param(CrossingUp(level=100), EVERY, [101, 99, 101, 99], [2], id="up-from-above"),
    pytest.param(CrossingUp(level=100), Once(), [99, 101, 98, 101], [1], id="up-once"),
    pytest.param(CrossingDown(level=100), EVERY, [101, 99, 100.2, 99, 100.6, 99], [1, 5],
                 id="down-band"),
    pytest.param(Crossing(level=100), EVERY, WOBBLE, [1], id="cross-wobble"),
    pytest.param(Crossing(level=100), EVERY, [99, 101, 99.4, 100.3, 100.6], [1, 2, 4],
                 id="cross-both-ways"),
    pytest.param(Crossing(level=100), EVERY, [100, 100, 101, 99], [3], id="cross-on-level"),
    pytest.param(EnteringChannel(low=90, high=110), EVERY, [95, 100], [], id="enter-primes"),
    pytest.param(EnteringChannel(low=90, high=110), EVERY, [120, 109, 110.2, 109, 111, 109],
                 [1, 5], id="enter-band"),
    pytest.param(EnteringChannel(low=90, high=110), EVERY, [80, 95, 89.9, 90.1, 85, 91],
                 [1, 5], id="enter-low-edge"),
    pytest.param(ExitingChannel(low=90, high=110), EVERY, [100, 111, 109.8, 111, 109, 111],
                 [1, 5], id="exit-band"),
    pytest.param(ExitingChannel(low=90, high=110), Once(), [100, 85, 100, 85], [1],
                 id="exit-once"),
    pytest.param(MovingUpPct(percent=5, window_seconds=3600), EVERY,
                 [(104, 100), (105, 100), (106, 100), (104.6, 100), (104.4, 100), (105, 100)],
                 [1, 5], id="move-up"),
    pytest.param(MovingUpPct(percent=5, window_seconds=3600), EVERY,
                 [(110, None), (110, None), (110, 100)], [2], id="move-up-waits-for-history"),
    pytest.param(MovingDownPct(percent=5, window_seconds=3600), EVERY,
                 [(96, 100), (95, 100), (94, 100), (96, 100), (94, 100)], [1, 4],
                 id="move-down"),
    pytest.param(MovingDownPct(percent=5, window_seconds=3600), Once(),
                 [(94, 100), (100, 100), (94, 100)], [0], id="move-down-once"),
]  # fmt: skip


@pytest.mark.parametrize(("condition", "frequency", "quotes", "expected"), PATHS)
def test_price_paths_fire_where_expected(
    condition: Condition, frequency: Frequency, quotes: list[Quote], expected: list[int]
) -> None:
    assert fired_at(run(condition, frequency, quotes)) == expected


@pytest.mark.parametrize(("condition", "frequency", "quotes", "expected"), PATHS)
def test_a_restart_mid_path_fires_the_same(
    condition: Condition, frequency: Frequency, quotes: list[Quote], expected: list[int]
) -> None:
    for restart in range(1, len(quotes)):
        # The caller stores only the changed states; a restart rebuilds the last one from
        # JSON and the quotes since the last stored change are delivered again.
        stored, results = EvaluationState(), run(condition, frequency, quotes[:restart])
        for result in results:
            if result.changed:
                stored = result.state
        restored = EvaluationState.model_validate(
            json.loads(json.dumps(stored.model_dump(mode="json")))
        )
        replay = run(condition, frequency, quotes, state=restored)
        assert fired_at(results) + fired_at(replay) == expected, f"restart at {restart}"


@pytest.mark.parametrize("condition", [CrossingUp(level=100), Crossing(level=100)])
def test_a_wobble_around_the_level_stores_nothing_after_the_fire(condition: Condition) -> None:
    results = run(condition, EVERY, WOBBLE * 3)
    assert results[0].primed
    assert results[0].changed
    assert results[1].fired
    assert "crossed up through 100.00 (at 100.10)" in results[1].reason
    assert not any(result.changed for result in results[2:])


@pytest.mark.parametrize(
    "condition",
    [
        Crossing(level=100),
        CrossingUp(level=100),
        CrossingDown(level=100),
        EnteringChannel(low=90, high=110),
        ExitingChannel(low=90, high=110),
    ],
)
def test_the_first_price_primes_without_firing(condition: Condition) -> None:
    first = evaluate(condition, EVERY, EvaluationState(), 150, START)
    assert first.primed
    assert first.changed
    assert not first.fired
    again = evaluate(condition, EVERY, first.state, 150, _at(1))
    assert not again.primed
    assert not again.changed


def test_rearm_is_reported_and_stored() -> None:
    results = run(CrossingUp(level=100), EVERY, [99, 101, 99.8, 99.4])
    assert [result.rearmed for result in results] == [False, False, False, True]
    assert results[3].changed


def test_cooldown_blocks_a_fire_and_does_not_rearm() -> None:
    frequency = EveryTime(cooldown_seconds=300, hysteresis_pct=0)
    # One quote a minute: true at 0, false at 1, true again at 2 (cooling down) and still
    # true at 5, when the cooldown is over.
    results = run(GreaterThan(level=100), frequency, [101, 99, 101, 101, 101, 101])
    assert fired_at(results) == [0, 5]
    blocked = results[2]
    assert not blocked.fired
    assert not blocked.rearmed
    assert "cooling down" in blocked.reason


def test_cooldown_loses_a_crossing_made_while_cooling_down() -> None:
    frequency = EveryTime(cooldown_seconds=300, hysteresis_pct=0)
    results = run(CrossingUp(level=100), frequency, [99, 101, 99, 101, 102, 103, 104, 99, 101])
    assert fired_at(results) == [1, 8]


def test_once_finishes_with_its_fire_and_stays_finished() -> None:
    results = run(CrossingDown(level=100), Once(), [101, 99, 101, 99])
    assert [result.finished for result in results] == [False, True, True, True]
    assert results[1].state.fire_count == 1
    assert not any(result.changed for result in results[2:])


def test_every_time_never_finishes() -> None:
    results = run(GreaterThan(level=100), EVERY, [101, 99, 101])
    assert not any(result.finished for result in results)
    assert results[-1].state.fire_count == 2


@pytest.mark.parametrize("minutes_back", [0, -1])
def test_a_price_not_after_the_last_is_ignored(minutes_back: int) -> None:
    fire = evaluate(GreaterThan(level=100), EVERY, EvaluationState(), 101, _at(5))
    assert fire.fired
    rearmed = evaluate(GreaterThan(level=100), EVERY, fire.state, 90, _at(6))
    late = evaluate(GreaterThan(level=100), EVERY, rearmed.state, 101, _at(6 + minutes_back))
    assert not late.fired
    assert not late.changed
    assert late.state == rearmed.state


def test_the_same_quote_delivered_twice_fires_once() -> None:
    first = evaluate(CrossingUp(level=100), EVERY, EvaluationState(), 99, _at(0))
    fire = evaluate(CrossingUp(level=100), EVERY, first.state, 101, _at(1))
    restored = EvaluationState.model_validate_json(fire.state.model_dump_json())
    again = evaluate(CrossingUp(level=100), EVERY, restored, 101, _at(1))
    assert fire.fired
    assert not again.fired
    assert not again.changed


def test_an_unchanged_tick_still_advances_the_market_time() -> None:
    first = evaluate(GreaterThan(level=100), EVERY, EvaluationState(), 99, _at(0))
    assert not first.changed
    assert first.state.last_as_of == _at(0)
    assert not evaluate(GreaterThan(level=100), EVERY, first.state, 101, _at(0)).fired


def test_moving_without_reference_changes_nothing() -> None:
    condition = MovingUpPct(percent=1, window_seconds=60)
    result = evaluate(condition, EVERY, EvaluationState(), 200, START, reference_price=None)
    assert not result.fired
    assert not result.changed
    assert result.state == EvaluationState()


def test_moving_reasons_name_the_move() -> None:
    up = evaluate(
        MovingUpPct(percent=5, window_seconds=3600),
        EVERY,
        EvaluationState(),
        105.2,
        START,
        reference_price=100,
    )
    assert up.reason == "price moved up 5.20% within 1 hour (from 100.00 to 105.20)"
    down = evaluate(
        MovingDownPct(percent=2, window_seconds=86400 * 2),
        EVERY,
        EvaluationState(),
        97,
        START,
        reference_price=100,
    )
    assert down.reason == "price moved down 3.00% within 2 days (from 100.00 to 97.00)"


@pytest.mark.parametrize(
    ("condition", "price", "reason"),
    [
        (GreaterThan(level=100), 100.1, "price is above 100.00 (at 100.10)"),
        (LessThan(level=100), 99, "price is below 100.00 (at 99.00)"),
        (EnteringChannel(low=90, high=110), 95, "price entered the channel 90.00 to 110.00"),
        (ExitingChannel(low=90, high=110), 80, "price exited the channel 90.00 to 110.00"),
        (CrossingDown(level=0.00012), 0.0001, "crossed down through 0.00012 (at 0.0001)"),
    ],
)
def test_fire_reasons(condition: Condition, price: float, reason: str) -> None:
    # A first price on the other side, so that the next one fires.
    primer: dict[type, float] = {
        GreaterThan: 99.0,
        LessThan: 101.0,
        EnteringChannel: 80.0,
        ExitingChannel: 100.0,
    }
    state = run(condition, EVERY, [primer.get(type(condition), 0.0002)])[-1].state
    result = evaluate(condition, EVERY, state, price, _at(1))
    assert result.fired
    assert reason in result.reason


@pytest.mark.parametrize(
    ("condition", "text"),
    [
        (GreaterThan(level=100), "is above 100.00"),
        (LessThan(level=100), "is below 100.00"),
        (Crossing(level=100), "crosses 100.00"),
        (CrossingUp(level=100), "crosses up through 100.00"),
        (CrossingDown(level=100.5), "crosses down through 100.50"),
        (EnteringChannel(low=90, high=110), "enters the channel 90.00 to 110.00"),
        (ExitingChannel(low=90, high=110), "exits the channel 90.00 to 110.00"),
        (MovingUpPct(percent=2.5, window_seconds=900), "moves up 2.5% within 15 minutes"),
        (MovingDownPct(percent=10, window_seconds=90), "moves down 10% within 90 seconds"),
    ],
)
def test_describe(condition: Condition, text: str) -> None:
    assert describe(condition) == text


def test_conditions_parse_from_json_by_kind() -> None:
    condition = CONDITION_ADAPTER.validate_python({"kind": "crossing_up", "level": 100})
    assert condition == CrossingUp(level=100)
    frequency = FREQUENCY_ADAPTER.validate_python({"kind": "every_time"})
    assert frequency == EveryTime(cooldown_seconds=0, hysteresis_pct=0.5)


def test_state_round_trips_through_json() -> None:
    state = run(CrossingUp(level=100), EVERY, [99, 101])[-1].state
    dumped = json.dumps(state.model_dump(mode="json"))
    assert EvaluationState.model_validate(json.loads(dumped)) == state


@pytest.mark.parametrize(
    ("adapter", "data", "message"),
    [
        (CONDITION_ADAPTER, {"kind": "entering_channel", "low": 110, "high": 90}, "low is above"),
        (CONDITION_ADAPTER, {"kind": "exiting_channel", "low": 100, "high": 100}, "low is above"),
        (CONDITION_ADAPTER, {"kind": "moving_up_pct", "percent": 0, "window_seconds": 60}, "0"),
        (CONDITION_ADAPTER, {"kind": "moving_up_pct", "percent": -1, "window_seconds": 60}, "0"),
        (CONDITION_ADAPTER, {"kind": "moving_down_pct", "percent": 100, "window_seconds": 60},
         "100 percent"),
        (CONDITION_ADAPTER, {"kind": "moving_up_pct", "percent": 1, "window_seconds": 59}, "60"),
        (CONDITION_ADAPTER, {"kind": "moving_up_pct", "percent": 1, "window_seconds": 2592001},
         "2592000"),
        (CONDITION_ADAPTER, {"kind": "greater_than", "level": 0}, "greater than 0"),
        (CONDITION_ADAPTER, {"kind": "greater_than", "level": "nan"}, "finite"),
        (CONDITION_ADAPTER, {"kind": "greater_than", "level": 1, "extra": 1}, "not permitted"),
        (CONDITION_ADAPTER, {"kind": "near", "level": 1}, "kind"),
        (FREQUENCY_ADAPTER, {"kind": "every_time", "cooldown_seconds": -1}, "greater than or"),
        (FREQUENCY_ADAPTER, {"kind": "every_time", "hysteresis_pct": -0.1}, "greater than or"),
    ],
)  # fmt: skip
def test_invalid_alerts_are_rejected(
    adapter: TypeAdapter[Any], data: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        adapter.validate_python(data)


def test_building_an_invalid_condition_directly_fails_too() -> None:
    with pytest.raises(ValidationError, match="low is above its high"):
        EnteringChannel(low=2, high=1)


@pytest.mark.parametrize("price", [0.0, -1.0, float("nan"), float("inf")])
def test_evaluate_rejects_a_price_that_is_not_positive(price: float) -> None:
    with pytest.raises(ValueError, match="positive finite"):
        evaluate(GreaterThan(level=1), EVERY, EvaluationState(), price, START)


def test_evaluate_rejects_a_naive_market_time() -> None:
    with pytest.raises(ValueError, match="timezone"):
        evaluate(GreaterThan(level=1), EVERY, EvaluationState(), 2, datetime(2024, 1, 1))
