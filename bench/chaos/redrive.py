"""Phase 2, the fix and the redrive: the consumers start again with the fixed handler
(it accepts the poison's provider; run.py launches them while it reads the DLQs, whose
messages they never see), each DLQ is moved back to its source queue with the
function `marketscope dlq redrive` calls (`marketscope_cli.dlq.redrive`), and the phase
ends once every source queue and every DLQ is empty."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

from delivery import DEPTH_EVERY_S, PROGRESS_EVERY_S, depths, drained, progress_line
from fleet import Fleet
from params import Params
from wiring import Aws

from marketscope_cli import dlq


@dataclass
class RedriveResult:
    status: str
    moved: dict[str, int]
    redrive_seconds: float
    seconds: float  # redrive started to every queue drained
    outcomes: dict[str, dict[str, int]]
    stop_codes: dict[str, int | None] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return self.__dict__.copy()


def poison_line(fleet: Fleet, started: float, measured: dict[str, Any], poison: set[str]) -> str:
    handled = "/".join(
        str(len(poison & fleet.reader.tallies[c.spec.name].settled)) for c in fleet.consumers
    )
    return progress_line(
        "redrive", fleet, started, measured, f"poison handled {handled} of {len(poison)} each"
    )


async def run_redrive(aws: Aws, fleet: Fleet, params: Params, poison: set[str]) -> RedriveResult:
    reader = fleet.reader
    before = {c.spec.name: dict(reader.tallies[c.spec.name].outcomes) for c in fleet.consumers}
    await fleet.ready()  # launched with the fixed handler while the DLQs were read
    started = time.perf_counter()
    moved: dict[str, int] = {}
    status = "complete"
    try:
        for consumer in fleet.consumers:
            spec = consumer.spec
            moved[spec.name] = await dlq.redrive(aws.sqs, spec.dlq_url, spec.queue_url)
        redrive_seconds = time.perf_counter() - started
        print(
            f"      redrive: moved {', '.join(f'{n} {m}' for n, m in moved.items())} "
            f"message(s) back in {redrive_seconds:.1f} s",
            flush=True,
        )
        measured = await depths(aws, fleet)
        changed_at, state = time.perf_counter(), tuple(measured.items())
        next_line = changed_at
        while not drained(measured, with_dlq=True):
            await asyncio.sleep(DEPTH_EVERY_S)
            reader.read()
            fleet.check_alive()
            measured = await depths(aws, fleet)
            now = time.perf_counter()
            if tuple(measured.items()) != state:
                state, changed_at = tuple(measured.items()), now
            if now >= next_line:
                print(poison_line(fleet, started, measured, poison), flush=True)
                next_line = now + PROGRESS_EVERY_S
            if now - changed_at > params.stall_seconds:
                status = f"stalled: nothing moved for {params.stall_seconds:.0f} s"
                print(f"      {status}", flush=True)
                break
        seconds = time.perf_counter() - started
        reader.read()
        print(poison_line(fleet, started, measured, poison), flush=True)
    finally:
        stop_codes = fleet.stop()
    reader.read()
    outcomes = {}
    for consumer in fleet.consumers:
        name = consumer.spec.name
        now_counts = reader.tallies[name].outcomes
        outcomes[name] = {
            key: now_counts[key] - before[name].get(key, 0)
            for key in now_counts
            if now_counts[key] - before[name].get(key, 0)
        }
    return RedriveResult(
        status=status,
        moved=moved,
        redrive_seconds=redrive_seconds,
        seconds=seconds,
        outcomes=outcomes,
        stop_codes=stop_codes,
    )
