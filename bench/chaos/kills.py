"""When to SIGKILL which consumer: drawn once from the seed, carried out during delivery.

The victim is one of the consumers; each kill falls once the victim has handled a drawn
number of events (between 5 % and 90 % of the normal events), plus a drawn delay of up
to half a second, so a kill lands wherever the process happens to be: polling, in a
handler, between the side effect and the idempotency record, deleting.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from fleet import ConsumerProcess

MAX_DELAY_S = 0.5


@dataclass(frozen=True)
class KillPlan:
    victim: str
    at_handled: tuple[int, ...]
    delays_s: tuple[float, ...]


def plan_kills(seed: int, consumers: list[str], kills: int, normal_events: int) -> KillPlan:
    rng = random.Random(seed)
    victim = rng.choice(consumers)
    low, high = max(1, normal_events // 20), max(2, normal_events * 9 // 10)
    population = range(low, high)
    points = sorted(rng.sample(population, min(kills, len(population))))
    delays = tuple(round(rng.uniform(0, MAX_DELAY_S), 3) for _ in points)
    return KillPlan(victim=victim, at_handled=tuple(points), delays_s=delays)


@dataclass(frozen=True)
class Kill:
    incarnation: str  # the process killed
    planned_at_handled: int
    handled_when_killed: int
    seconds_into_delivery: float


@dataclass
class Killer:
    """Carries out a `KillPlan`: call `tick` with the victim's progress."""

    plan: KillPlan
    victim: ConsumerProcess
    started_at: float
    done: list[Kill] = field(default_factory=list)
    _task: asyncio.Task[None] | None = None

    @property
    def busy(self) -> bool:
        """A kill (and the restart after it) is under way."""
        return self._task is not None and not self._task.done()

    def tick(self, handled: int, progress: Callable[[], int]) -> None:
        if self._task is not None and self._task.done():
            self._task.result()  # a failed restart stops the run
            self._task = None
        index = len(self.done)
        if self.busy or index >= len(self.plan.at_handled):
            return
        if handled >= self.plan.at_handled[index]:
            self._task = asyncio.create_task(self._kill(index, progress))

    async def _kill(self, index: int, progress: Callable[[], int]) -> None:
        await asyncio.sleep(self.plan.delays_s[index])
        killed = self.victim.writer
        handled = progress()
        self.victim.kill()
        self.done.append(
            Kill(
                incarnation=killed,
                planned_at_handled=self.plan.at_handled[index],
                handled_when_killed=handled,
                seconds_into_delivery=time.perf_counter() - self.started_at,
            )
        )
        print(
            f"      SIGKILL {killed} ({index + 1}/{len(self.plan.at_handled)}) after "
            f"{handled} events handled; restarting it",
            flush=True,
        )
        self.victim.start(self.victim.mode)

    async def finish(self) -> None:
        if self._task is not None:
            await self._task
            self._task = None

    def as_dicts(self) -> list[dict[str, Any]]:
        return [asdict(kill) for kill in self.done]
