"""Price alerts: the conditions a user sets and their evaluation against new prices."""

from __future__ import annotations

from marketscope_notifier.alerts.conditions import (
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

__all__ = [
    "CONDITION_ADAPTER",
    "FREQUENCY_ADAPTER",
    "Condition",
    "Crossing",
    "CrossingDown",
    "CrossingUp",
    "EnteringChannel",
    "Evaluation",
    "EvaluationState",
    "EveryTime",
    "ExitingChannel",
    "Frequency",
    "GreaterThan",
    "LessThan",
    "MovingDownPct",
    "MovingUpPct",
    "Once",
    "describe",
    "evaluate",
]
