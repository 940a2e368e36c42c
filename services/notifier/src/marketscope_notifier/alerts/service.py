"""Setting, reading, changing and removing alerts (no HTTP, no boto). Every change is an
event of the alert's stream; an alert another user owns is not found."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from marketscope_events import CATALOG, EventData
from marketscope_events.catalog.events import (
    AlertCreated,
    AlertDeleted,
    AlertPaused,
    AlertResumed,
    AlertUpdated,
)
from marketscope_events.streams.repository import Loaded
from marketscope_notifier.alerts.conditions import (
    CONDITION_ADAPTER,
    FREQUENCY_ADAPTER,
    Condition,
    Frequency,
)
from marketscope_notifier.alerts.repository import AlertRepository
from marketscope_notifier.alerts.state import AlertState
from marketscope_notifier.errors import AlertConflict, AlertNotFound, InvalidAlert
from marketscope_servicekit.owned_index import OwnedPage

Clock = Callable[[], datetime]


@dataclass(frozen=True, slots=True)
class AlertSpec:
    """What the owner asks for (parsed and validated by the HTTP layer)."""

    symbol: str
    condition: Condition
    frequency: Frequency
    expires_at: datetime | None
    note: str | None


class AlertService:
    def __init__(
        self, alerts: AlertRepository, *, clock: Clock = lambda: datetime.now(UTC)
    ) -> None:
        self._alerts = alerts
        self._clock = clock

    def _check_expiry(self, spec: AlertSpec) -> None:
        if spec.expires_at is not None and spec.expires_at <= self._clock():
            raise InvalidAlert("expires_at must lie in the future.")

    async def create(self, owner: str, spec: AlertSpec) -> AlertState:
        self._check_expiry(spec)
        alert_id = f"alr_{uuid.uuid4().hex}"
        created = AlertCreated(
            alert_id=alert_id,
            owner=owner,
            symbol=spec.symbol,
            condition=CONDITION_ADAPTER.dump_python(spec.condition, mode="json"),
            frequency=FREQUENCY_ADAPTER.dump_python(spec.frequency, mode="json"),
            expires_at=spec.expires_at,
            note=spec.note,
            created_at=self._clock(),
        )
        event = CATALOG.new_event(created, subject=alert_id)
        return (await self._alerts.append(None, alert_id, [event])).state

    async def _owned(self, owner: str, alert_id: str) -> Loaded[AlertState]:
        loaded = await self._alerts.load(alert_id)
        if loaded is None or loaded.state.owner != owner or loaded.state.status == "deleted":
            raise AlertNotFound(alert_id)
        return loaded

    async def get(self, owner: str, alert_id: str) -> AlertState:
        return (await self._owned(owner, alert_id)).state

    async def list(self, owner: str, *, limit: int, cursor: str | None) -> OwnedPage:
        return await self._alerts.list_owned(owner, limit=limit, cursor=cursor)

    async def _change(
        self, owner: str, alert_id: str, make: Callable[[AlertState], EventData | None]
    ) -> AlertState:
        loaded = await self._owned(owner, alert_id)
        data = make(loaded.state)
        if data is None:
            return loaded.state
        event = CATALOG.new_event(data, subject=alert_id)
        return (await self._alerts.append(loaded, alert_id, [event])).state

    async def update(self, owner: str, alert_id: str, spec: AlertSpec) -> AlertState:
        """A new condition, frequency, expiry or note; a fired `once` alert is active
        again. The symbol cannot change (that is another alert)."""
        self._check_expiry(spec)

        def updated(state: AlertState) -> EventData:
            if spec.symbol != state.symbol:
                raise InvalidAlert("An alert's symbol cannot change: make a new alert.")
            if state.status == "expired":
                raise AlertConflict(alert_id, f"Alert {alert_id} has expired.")
            return AlertUpdated(
                alert_id=alert_id,
                condition=CONDITION_ADAPTER.dump_python(spec.condition, mode="json"),
                frequency=FREQUENCY_ADAPTER.dump_python(spec.frequency, mode="json"),
                expires_at=spec.expires_at,
                note=spec.note,
                updated_at=self._clock(),
            )

        return await self._change(owner, alert_id, updated)

    async def pause(self, owner: str, alert_id: str) -> AlertState:
        def paused(state: AlertState) -> EventData | None:
            if state.status == "paused":
                return None
            if state.ended:
                raise AlertConflict(alert_id, f"Alert {alert_id} is {state.status}.")
            return AlertPaused(alert_id=alert_id, paused_at=self._clock())

        return await self._change(owner, alert_id, paused)

    async def resume(self, owner: str, alert_id: str) -> AlertState:
        def resumed(state: AlertState) -> EventData | None:
            if state.status == "active":
                return None
            if state.ended:
                raise AlertConflict(alert_id, f"Alert {alert_id} is {state.status}.")
            return AlertResumed(alert_id=alert_id, resumed_at=self._clock())

        return await self._change(owner, alert_id, resumed)

    async def delete(self, owner: str, alert_id: str) -> None:
        await self._change(
            owner, alert_id, lambda _: AlertDeleted(alert_id=alert_id, deleted_at=self._clock())
        )
