"""What the embedded stack runs because its emulator fires no schedules: a scheduler that
puts the refresh rule's Scheduled Event on the bus at the cron times (the rule routes it
to the queue, as on AWS), and a live loop that advances the replay clock and refreshes.

Both are background jobs (``run(stop)``); one that raises (AWS not answering yet) is
restarted with backoff by servicekit's `BackgroundTasks`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from marketscope_events.timeutil import Clock, utc_now
from marketscope_market_data.refresh.events import scheduled_event_entry
from marketscope_market_data.refresh.schedule import CronSchedule
from marketscope_servicekit.lifecycle import pause

if TYPE_CHECKING:
    from types_aiobotocore_events import EventBridgeClient

logger = logging.getLogger(__name__)


class EmbeddedScheduler:
    def __init__(
        self,
        events: EventBridgeClient,
        *,
        rule_name: str,
        bus: str,
        schedule: CronSchedule,
        clock: Clock = utc_now,
    ) -> None:
        self._events = events
        self._rule_name = rule_name
        self._bus = bus
        self._schedule = schedule
        self._clock = clock

    async def fire(self, rule_arn: str) -> None:
        entry = scheduled_event_entry(rule_arn, self._clock(), self._bus)
        response = await self._events.put_events(Entries=[entry])
        if response.get("FailedEntryCount"):
            logger.error("scheduled event not accepted", extra={"entries": response["Entries"]})

    async def run(self, stop: asyncio.Event) -> None:
        rule = await self._events.describe_rule(Name=self._rule_name, EventBusName=self._bus)
        rule_arn = str(rule["Arn"])
        while not stop.is_set():
            due = self._schedule.next_after(self._clock())
            if await pause(stop, (due - self._clock()).total_seconds()):
                return
            await self.fire(rule_arn)
            logger.info("scheduled event put on the bus", extra={"rule": self._rule_name})


class LiveRefreshLoop:
    """Every ``interval`` seconds: advance the replay clock (when replaying) and refresh."""

    def __init__(
        self,
        refresh: Callable[[str], Awaitable[object]],
        *,
        interval: float,
        advance: Callable[[], object] | None = None,
    ) -> None:
        self._refresh = refresh
        self._interval = interval
        self._advance = advance

    async def run(self, stop: asyncio.Event) -> None:
        while not await pause(stop, self._interval):
            if self._advance is not None:
                self._advance()
            await self._refresh("live")
