"""Phase 1, delivery under chaos: the events are appended and relayed while the three
consumer processes (first handler: refuses poison) consume them, and one of them is
SIGKILLed and started again on the kill plan.

The phase ends once everything appended was published (every outbox empty) and every
source queue is empty (nothing visible, nothing in flight): each message was handled,
acknowledged or, for poison after maxReceiveCount rejections, moved to its DLQ. It
fails as stalled when nothing moves for ``stall_seconds``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fleet import Fleet
from handlers import STRICT
from kills import Kill, Killer, KillPlan, plan_kills
from params import Params
from producer import Producer
from tally import ConsumerTally
from usage import EmulatorUsage
from wiring import Aws

from marketscope_platform.queues import QueueDepth, queue_depth

TICK_S = 0.1
DEPTH_EVERY_S = 1.0
PROGRESS_EVERY_S = 5.0


def progress_of(tally: ConsumerTally) -> int:
    """Events this consumer is done with: handled, or rejected at least once."""
    return len(tally.settled) + len(tally.rejections)


@dataclass
class DeliveryResult:
    status: str
    seconds: float  # first append to the last message handled
    append_seconds: float
    appended: int
    pending_in_outbox: int | None
    plan: KillPlan
    kills: list[Kill]
    outcomes: dict[str, dict[str, int]]
    usage: EmulatorUsage
    consumers_start_seconds: float
    stop_codes: dict[str, int | None] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            **self.usage.as_dict(self.appended),
            "status": self.status,
            "seconds": self.seconds,
            "append_seconds": self.append_seconds,
            "appended": self.appended,
            "pending_in_outbox": self.pending_in_outbox,
            "kill_plan": {
                "victim": self.plan.victim,
                "at_handled": list(self.plan.at_handled),
                "delays_s": list(self.plan.delays_s),
            },
            "kills": [kill.__dict__ for kill in self.kills],
            "outcomes": self.outcomes,
            "consumers_start_seconds": self.consumers_start_seconds,
            "stop_codes": self.stop_codes,
        }


async def depths(aws: Aws, fleet: Fleet) -> dict[str, tuple[QueueDepth, QueueDepth]]:
    """Per consumer: its source queue and its DLQ."""
    return {
        c.spec.name: (
            await queue_depth(aws.sqs, c.spec.queue_url),
            await queue_depth(aws.sqs, c.spec.dlq_url),
        )
        for c in fleet.consumers
    }


def drained(measured: dict[str, tuple[QueueDepth, QueueDepth]], *, with_dlq: bool) -> bool:
    queues = [q for pair in measured.values() for q in (pair if with_dlq else pair[:1])]
    return all(q.visible == 0 and q.in_flight == 0 for q in queues)


def progress_line(
    label: str,
    fleet: Fleet,
    started: float,
    measured: dict[str, tuple[QueueDepth, QueueDepth]],
    extra: str,
) -> str:
    tallies = fleet.reader.tallies
    handled = ", ".join(
        f"{c.spec.name} {len(tallies[c.spec.name].settled):,}" for c in fleet.consumers
    )
    dlq = "/".join(str(measured[c.spec.name][1].visible) for c in fleet.consumers if measured)
    elapsed = time.perf_counter() - started
    return f"      {label} {elapsed:5.0f} s: {extra}; handled {handled}; DLQs {dlq or '-'}"


class Window:
    """Holds appends back while the slowest consumer is ``size`` events behind."""

    def __init__(self, size: int, slowest: Callable[[], int]) -> None:
        self._size = size
        self._slowest = slowest
        self._moved = asyncio.Event()

    def moved(self) -> None:
        """The consumers' reports were read again."""
        self._moved.set()

    async def room(self, appended: int) -> None:
        while appended - self._slowest() >= self._size:
            self._moved.clear()
            await self._moved.wait()


async def run_delivery(
    aws: Aws, fleet: Fleet, producer: Producer, params: Params, emulator_pid: int | None
) -> DeliveryResult:
    reader = fleet.reader
    names = [c.spec.name for c in fleet.consumers]
    launched = time.perf_counter()
    await fleet.start(STRICT)
    start_seconds = time.perf_counter() - launched
    plan = plan_kills(params.seed, names, params.kills, params.events - params.poison_count)
    victim = fleet.by_name(plan.victim)
    print(
        f"      kill plan: {plan.victim} after {', '.join(map(str, plan.at_handled))} "
        "events handled",
        flush=True,
    )

    window = Window(params.window, lambda: min(progress_of(reader.tallies[n]) for n in names))

    def victim_handled() -> int:
        reader.read()
        return len(reader.tallies[plan.victim].settled)

    usage = EmulatorUsage(emulator_pid)
    usage.start()
    started = time.perf_counter()
    killer = Killer(plan, victim, started)
    producing = asyncio.create_task(
        producer.produce(params.events, params.poison_every, params.segment_events, window.room)
    )
    closing: asyncio.Task[int] | None = None
    closed_at = measured_at = 0.0
    measured: dict[str, tuple[QueueDepth, QueueDepth]] = {}
    state: tuple[object, ...] = ()
    changed_at = last_progress_at = next_line = started
    status = "complete"
    try:
        while True:
            await asyncio.sleep(TICK_S)
            reader.read()
            window.moved()
            now = time.perf_counter()
            if producing.done() and closing is None:
                producing.result()
                closing = asyncio.create_task(producer.close())
            if closing is not None and closing.done() and not closed_at:
                closed_at = now
            killer.tick(len(reader.tallies[plan.victim].settled), victim_handled)
            if not killer.busy:
                fleet.check_alive()
            # The depths are only needed to see the end (and for the progress line):
            # every request is the emulator's time, which the events share.
            if (closed_at or now >= next_line) and now - measured_at >= DEPTH_EVERY_S:
                measured, measured_at = await depths(aws, fleet), time.perf_counter()
            counts = tuple(progress_of(reader.tallies[n]) for n in names)
            if counts != state[:3]:
                last_progress_at = now
            current = (*counts, len(producer.published.event_ids), tuple(measured.items()))
            if current != state:
                state, changed_at = current, now
            if now >= next_line:
                appended = f"{len(producer.published.event_ids):,}/{params.events:,} appended"
                kills = f"kills {len(killer.done)}/{len(plan.at_handled)}"
                print(progress_line("delivery", fleet, started, measured, f"{appended}, {kills}"))
                next_line = time.perf_counter() + PROGRESS_EVERY_S
            finished = len(killer.done) == len(plan.at_handled) and not killer.busy
            if (
                finished
                and closed_at
                and measured_at > closed_at
                and drained(measured, with_dlq=False)
            ):
                break
            if now - changed_at > params.stall_seconds:
                status = f"stalled: nothing moved for {params.stall_seconds:.0f} s"
                print(f"      {status}", flush=True)
                break
    finally:
        usage.stop()
        await killer.finish()
        if not producing.done():
            producing.cancel()
        pending = None
        if closing is not None:
            pending = await closing
        stop_codes = fleet.stop()
    reader.read()
    published = producer.published
    return DeliveryResult(
        status=status,
        seconds=last_progress_at - started,
        append_seconds=(published.last_at or time.perf_counter()) - started,
        appended=len(published.event_ids),
        pending_in_outbox=pending,
        plan=plan,
        kills=list(killer.done),
        outcomes={n: dict(reader.tallies[n].outcomes) for n in names},
        usage=usage,
        consumers_start_seconds=start_seconds,
        stop_codes=stop_codes,
    )
