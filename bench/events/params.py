"""The run's parameters: the command line, the defaults, and what --quick changes."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

RESULTS_FILE = Path(__file__).resolve().parents[1] / "results" / "events.json"
SERVICES = ("gateway", "notifier", "chat")
SQS_BATCH = 10
LOW_LOAD_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class Params:
    events: int  # pipeline phase
    latency_events: int  # low-load phase, after `latency_warmup` unmeasured ones
    latency_warmup: int
    ceiling_messages: int  # per ceiling worker count
    ceiling_workers: tuple[int, ...]
    producers: int  # concurrent appenders
    window: int  # most events appended but not yet handled by all three consumers
    segment_events: int  # appends per event-store table (0: one table)
    relay_batch_size: int
    consumer_batch_size: int
    consumer_concurrency: int
    wait_time_seconds: int
    phase_timeout_s: float
    quick: bool


def parse_args(argv: Sequence[str] | None = None) -> tuple[Params, str | None, Path]:
    parser = argparse.ArgumentParser(
        description="Benchmark of libs/events against the AWS emulator (see bench/README.md)"
    )
    parser.add_argument("--events", type=int, help="events in the pipeline phase")
    parser.add_argument("--quick", action="store_true", help="a smaller run (< 40 s)")
    parser.add_argument("--endpoint", help="an AWS endpoint to use instead of own emulator")
    parser.add_argument("--window", type=int, default=10, help="events in flight at most")
    parser.add_argument("--producers", type=int, default=3, help="concurrent appenders")
    parser.add_argument(
        "--segment-events",
        type=int,
        default=50,
        help="swap the event store's table for a fresh one every N appends (0: never); "
        "moto deep-copies the whole table on every TransactWriteItems",
    )
    parser.add_argument("--relay-batch-size", type=int, default=30)
    parser.add_argument("--consumer-concurrency", type=int, default=30)
    parser.add_argument(
        "--wait-time-seconds",
        type=int,
        default=2,
        help="the consumers' long poll (it wakes on arrival; stop() lets it finish)",
    )
    parser.add_argument("--output", type=Path, default=RESULTS_FILE)
    args = parser.parse_args(argv)
    quick = bool(args.quick)
    params = Params(
        events=args.events or (200 if quick else 2000),
        latency_events=20 if quick else 50,
        latency_warmup=3,
        ceiling_messages=1000 if quick else 3000,
        ceiling_workers=(1, 2) if quick else (1, 2, 4),
        producers=args.producers,
        window=args.window,
        segment_events=args.segment_events,
        relay_batch_size=args.relay_batch_size,
        consumer_batch_size=SQS_BATCH,
        consumer_concurrency=args.consumer_concurrency,
        wait_time_seconds=args.wait_time_seconds,
        phase_timeout_s=60.0 if quick else 150.0,
        quick=quick,
    )
    return params, args.endpoint, args.output
