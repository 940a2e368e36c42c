"""An alert's state, folded from its ``Alert#<id>`` stream.

AlertCreated, then any of AlertUpdated, AlertPaused, AlertResumed, AlertObserved (a price
changed what the alert remembers), AlertTriggered (with the NotificationCreated of the
fire, in one append), AlertRearmed, and at the end AlertExpired or AlertDeleted. A `once`
alert that fired is finished. The evaluation state (the side of the level the last price
was on, armed or not, when it last fired) is part of the fold, so a restart evaluates the
next price exactly as the process before it would have.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Literal

from marketscope_events import DecodedEvent
from marketscope_events.catalog.events import (
    AlertCreated,
    AlertDeleted,
    AlertExpired,
    AlertObserved,
    AlertPaused,
    AlertRearmed,
    AlertResumed,
    AlertTriggered,
    AlertUpdated,
    NotificationCreated,
)
from marketscope_notifier.alerts.conditions import (
    CONDITION_ADAPTER,
    FREQUENCY_ADAPTER,
    Condition,
    EvaluationState,
    Frequency,
)

Status = Literal["active", "paused", "triggered", "expired", "deleted"]
# An alert in one of these answers no price again.
ENDED: frozenset[Status] = frozenset({"triggered", "expired", "deleted"})


def stream_id(alert_id: str) -> str:
    return f"Alert#{alert_id}"


@dataclass(frozen=True, slots=True)
class AlertState:
    id: str
    owner: str
    symbol: str
    condition: Condition
    frequency: Frequency
    expires_at: datetime | None
    note: str | None
    created_at: datetime
    updated_at: datetime
    status: Status = "active"
    evaluation: EvaluationState = field(default_factory=EvaluationState)
    last_triggered_at: datetime | None = None
    last_price: float | None = None

    @property
    def ended(self) -> bool:
        return self.status in ENDED

    @property
    def evaluating(self) -> bool:
        """Whether a price is evaluated against it."""
        return self.status == "active"

    def expired_by(self, moment: datetime) -> bool:
        return self.expires_at is not None and moment >= self.expires_at


def _evaluation(state: dict[str, Any]) -> EvaluationState:
    return EvaluationState.model_validate(state)


def fold(state: AlertState | None, event: DecodedEvent[Any]) -> AlertState:
    data = event.data
    if isinstance(data, AlertCreated):
        return AlertState(
            id=data.alert_id,
            owner=data.owner,
            symbol=data.symbol,
            condition=CONDITION_ADAPTER.validate_python(data.condition),
            frequency=FREQUENCY_ADAPTER.validate_python(data.frequency),
            expires_at=data.expires_at,
            note=data.note,
            created_at=data.created_at,
            updated_at=data.created_at,
        )
    if state is None:
        raise ValueError(f"{event.envelope.subject}: the stream does not begin with AlertCreated")
    if isinstance(data, AlertUpdated):
        return replace(
            state,
            condition=CONDITION_ADAPTER.validate_python(data.condition),
            frequency=FREQUENCY_ADAPTER.validate_python(data.frequency),
            expires_at=data.expires_at,
            note=data.note,
            updated_at=data.updated_at,
            status="active" if state.status == "triggered" else state.status,
            evaluation=EvaluationState(),  # a new condition is evaluated from scratch
        )
    if isinstance(data, AlertPaused):
        return replace(state, status="paused", updated_at=data.paused_at)
    if isinstance(data, AlertResumed):
        return replace(state, status="active", updated_at=data.resumed_at)
    if isinstance(data, AlertObserved | AlertRearmed):
        return replace(state, evaluation=_evaluation(data.state), last_price=float(data.price))
    if isinstance(data, AlertTriggered):
        return replace(
            state,
            evaluation=_evaluation(data.state),
            last_price=float(data.price),
            last_triggered_at=data.triggered_at,
            status="triggered" if data.finished else state.status,
        )
    if isinstance(data, NotificationCreated):
        return state
    if isinstance(data, AlertExpired):
        return replace(state, status="expired", updated_at=data.expired_at)
    if isinstance(data, AlertDeleted):
        return replace(state, status="deleted", updated_at=data.deleted_at)
    return state


def to_json(state: AlertState) -> dict[str, Any]:
    """The whole state as JSON (the per-symbol index keeps it, to evaluate a price
    without reading the stream)."""
    return {
        "id": state.id,
        "owner": state.owner,
        "symbol": state.symbol,
        "condition": CONDITION_ADAPTER.dump_python(state.condition, mode="json"),
        "frequency": FREQUENCY_ADAPTER.dump_python(state.frequency, mode="json"),
        "expires_at": None if state.expires_at is None else state.expires_at.isoformat(),
        "note": state.note,
        "created_at": state.created_at.isoformat(),
        "updated_at": state.updated_at.isoformat(),
        "status": state.status,
        "evaluation": state.evaluation.model_dump(mode="json"),
        "last_triggered_at": None
        if state.last_triggered_at is None
        else state.last_triggered_at.isoformat(),
        "last_price": state.last_price,
    }


def _moment(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def from_json(data: dict[str, Any]) -> AlertState:
    created_at = datetime.fromisoformat(data["created_at"])
    return AlertState(
        id=data["id"],
        owner=data["owner"],
        symbol=data["symbol"],
        condition=CONDITION_ADAPTER.validate_python(data["condition"]),
        frequency=FREQUENCY_ADAPTER.validate_python(data["frequency"]),
        expires_at=_moment(data["expires_at"]),
        note=data["note"],
        created_at=created_at,
        updated_at=_moment(data["updated_at"]) or created_at,
        status=data["status"],
        evaluation=_evaluation(data["evaluation"]),
        last_triggered_at=_moment(data["last_triggered_at"]),
        last_price=data["last_price"],
    )
