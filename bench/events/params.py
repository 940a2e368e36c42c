"""The run's parameters: the command line, the defaults, and what --quick changes."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from marketscope_events.outbox.relay import PUBLISH_BATCH_SIZE
from marketscope_servicekit.lifecycle.consumers import ConsumerOptions

RESULTS_FILE = Path(__file__).resolve().parents[1] / "results" / "events.json"
# Three consumers of QuoteUpdated: the catalog's two (gateway, notifier) and a third
# subscribed for the benchmark (see wiring.FAN_OUT_CATALOG), so one event is 3 deliveries.
SERVICES = ("gateway", "notifier", "chat")
SQS_BATCH = 10
LOW_LOAD_TIMEOUT_S = 5.0
EMULATORS = ("moto", "ministack")
# The consumers and relays run as the services run them: with their default settings.
SERVICE_DEFAULTS = ConsumerOptions()


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
    emulators: tuple[str, ...]

    def settings(self) -> dict[str, object]:
        """What the consumers and relays run with, and where it comes from."""
        return {
            "source": "the services' defaults (servicekit ConsumerOptions, OutboxRelay)",
            "relay_batch_size": self.relay_batch_size,
            "consumer_batch_size": self.consumer_batch_size,
            "consumer_concurrency": self.consumer_concurrency,
            "wait_time_seconds": self.wait_time_seconds,
            "visibility_timeout": SERVICE_DEFAULTS.visibility_timeout,
        }


def parse_args(argv: Sequence[str] | None = None) -> tuple[Params, str | None, Path]:
    parser = argparse.ArgumentParser(
        description="Benchmark of libs/events against the AWS emulator (see bench/README.md)"
    )
    parser.add_argument("--events", type=int, help="events in the pipeline phase")
    parser.add_argument("--quick", action="store_true", help="a smaller run (< 40 s)")
    parser.add_argument("--endpoint", help="an AWS endpoint to use instead of own emulators")
    parser.add_argument(
        "--emulators",
        default=",".join(EMULATORS),
        help="the emulators to run on, one after the other (default: moto,ministack)",
    )
    parser.add_argument("--window", type=int, default=50, help="events in flight at most")
    parser.add_argument("--producers", type=int, default=3, help="concurrent appenders")
    parser.add_argument(
        "--segment-events",
        type=int,
        default=50,
        help="swap the event store's table for a fresh one every N appends (0: never); "
        "moto deep-copies the whole table on every TransactWriteItems",
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
        relay_batch_size=PUBLISH_BATCH_SIZE,
        consumer_batch_size=SERVICE_DEFAULTS.batch_size,
        consumer_concurrency=SERVICE_DEFAULTS.concurrency,
        wait_time_seconds=SERVICE_DEFAULTS.wait_time_seconds,
        phase_timeout_s=60.0 if quick else 150.0,
        quick=quick,
        emulators=tuple(kind for kind in args.emulators.split(",") if kind),
    )
    unknown = set(params.emulators) - set(EMULATORS)
    if unknown:
        parser.error(f"--emulators takes {' and '.join(EMULATORS)}, not {sorted(unknown)}")
    return params, args.endpoint, args.output
