"""Evaluating a new price against the alerts of its symbol (what QuoteUpdated runs).

One query reads the symbol's active alerts from their index, whose items hold each
alert's state; an alert whose evaluation changes nothing appends nothing. A change is
appended at the version the item showed: AlertObserved (primed, or moved to the other
side), AlertRearmed, or on a fire AlertTriggered with its NotificationCreated (one write,
both through the outbox), after which the notification goes in the owner's inbox. If the
stream moved on meanwhile (a user edited the alert), the alert is read from its stream
and evaluated once more. An alert past its ``expires_at`` ends with AlertExpired instead.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from marketscope_events import CATALOG, Envelope
from marketscope_events.catalog.events import (
    AlertExpired,
    AlertObserved,
    AlertRearmed,
    AlertTriggered,
    NotificationCreated,
)
from marketscope_events.streams.repository import Loaded
from marketscope_notifier.alerts.conditions import (
    CONDITION_ADAPTER,
    Evaluation,
    MovingDownPct,
    MovingUpPct,
    describe,
    evaluate,
    format_price,
)
from marketscope_notifier.alerts.prices import PriceWindow
from marketscope_notifier.alerts.repository import AlertRepository
from marketscope_notifier.alerts.state import AlertState
from marketscope_notifier.errors import AlertConflict
from marketscope_notifier.inbox.repository import InboxRepository, notification_id
from marketscope_servicekit import MetricsRecorder

logger = logging.getLogger(__name__)
Clock = Callable[[], datetime]
LINK = "/api/v1/alerts/{alert_id}"


@dataclass(frozen=True, slots=True)
class QuoteOutcome:
    alerts: int
    fired: int
    changed: int


def _price(value: float) -> Decimal:
    return Decimal(repr(value))


def alert_notification(state: AlertState, result: Evaluation, at: datetime) -> NotificationCreated:
    unique = hashlib.sha256(f"{state.id}#{result.state.fire_count}".encode()).hexdigest()
    body = f"{state.symbol}: {result.reason}."
    if state.note:
        body += f" {state.note}"
    return NotificationCreated(
        notification_id=notification_id(at, unique),
        owner=state.owner,
        kind="alert",
        title=f"{state.symbol} {describe(state.condition)}"[:200],
        body=body,
        link=LINK.format(alert_id=state.id),
        created_at=at,
    )


class AlertEvaluator:
    def __init__(
        self,
        alerts: AlertRepository,
        prices: PriceWindow,
        inbox: InboxRepository,
        metrics: MetricsRecorder,
        *,
        clock: Clock = lambda: datetime.now(UTC),
    ) -> None:
        self._alerts = alerts
        self._prices = prices
        self._inbox = inbox
        self._metrics = metrics
        self._clock = clock
        self._locks: dict[str, asyncio.Lock] = {}

    async def on_quote(self, symbol: str, price: float, as_of: datetime) -> QuoteOutcome:
        """Evaluate the price against the symbol's alerts. The quotes of one symbol are
        evaluated one at a time, and one older than a price already evaluated is stale
        (queues do not keep order): it changes nothing."""
        lock = self._locks.setdefault(symbol, asyncio.Lock())
        async with lock:
            candidates = await self._alerts.candidates(symbol)
            if not candidates:
                return QuoteOutcome(0, 0, 0)
            newest = await self._prices.latest(symbol)
            if newest is not None and newest > as_of:
                self._metrics.increment("StaleQuotes")
                return QuoteOutcome(len(candidates), 0, 0)
            outcomes = await asyncio.gather(
                *(self._evaluate(loaded, price, as_of) for loaded in candidates)
            )
            # Recorded once evaluated: a quote retried after a failure is not stale.
            await self._prices.record(symbol, price, as_of)
        fired = sum(1 for outcome in outcomes if outcome == "fired")
        changed = sum(1 for outcome in outcomes if outcome != "unchanged")
        self._metrics.increment("AlertsEvaluated", len(candidates))
        if fired:
            self._metrics.increment("AlertsTriggered", fired)
        return QuoteOutcome(len(candidates), fired, changed)

    async def _evaluate(self, loaded: Loaded[AlertState], price: float, as_of: datetime) -> str:
        for _ in range(2):
            try:
                return await self._evaluate_at(loaded, price, as_of)
            except AlertConflict:
                fresh = await self._alerts.load(loaded.state.id)
                if fresh is None or not fresh.state.evaluating:
                    return "unchanged"
                loaded = fresh
        raise AlertConflict(loaded.state.id)  # retried by the consumer

    async def _evaluate_at(self, loaded: Loaded[AlertState], price: float, as_of: datetime) -> str:
        state = loaded.state
        now = self._clock()
        if state.expired_by(now):
            await self._append(loaded, AlertExpired(alert_id=state.id, expired_at=now))
            return "expired"
        reference = None
        if isinstance(state.condition, MovingUpPct | MovingDownPct):
            window = timedelta(seconds=state.condition.window_seconds)
            reference = await self._prices.at(state.symbol, as_of - window)
        result = evaluate(
            state.condition,
            state.frequency,
            state.evaluation,
            price,
            as_of,
            reference_price=reference,
        )
        if not result.changed:
            return "unchanged"
        evaluation = result.state.model_dump(mode="json")
        if result.fired:
            notification = alert_notification(state, result, now)
            triggered = AlertTriggered(
                alert_id=state.id,
                owner=state.owner,
                symbol=state.symbol,
                condition=CONDITION_ADAPTER.dump_python(state.condition, mode="json"),
                description=describe(state.condition),
                reason=result.reason,
                price=_price(price),
                as_of=as_of,
                fire_count=result.state.fire_count,
                finished=result.finished,
                state=evaluation,
                triggered_at=now,
            )
            await self._append(loaded, triggered, notification)
            await self._inbox.add(notification)
            logger.info("alert %s fired: %s at %s", state.id, result.reason, format_price(price))
            return "fired"
        if result.rearmed:
            await self._append(
                loaded,
                AlertRearmed(alert_id=state.id, price=_price(price), as_of=as_of, state=evaluation),
            )
            return "rearmed"
        await self._append(
            loaded,
            AlertObserved(alert_id=state.id, price=_price(price), as_of=as_of, state=evaluation),
        )
        return "observed"

    async def _append(self, loaded: Loaded[AlertState], *data: object) -> None:
        events: list[Envelope] = [
            CATALOG.new_event(item, subject=loaded.state.id)  # type: ignore[arg-type]
            for item in data
        ]
        await self._alerts.append(loaded, loaded.state.id, events)
