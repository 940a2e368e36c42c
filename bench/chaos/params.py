"""The run's parameters: the command line, the defaults, and what --quick changes."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

RESULTS_FILE = Path(__file__).resolve().parents[1] / "results" / "chaos.json"

# QuoteUpdated reaches the notifier's queue and every gateway instance's own queue: two
# gateway instances and the notifier make the three subscribed queues.
CONSUMERS: tuple[tuple[str, str], ...] = (
    ("notifier", "notifier"),
    ("gateway-a", "gateway"),
    ("gateway-b", "gateway"),
)


@dataclass(frozen=True)
class Params:
    events: int
    kills: int
    poison_every: int  # every Nth event is poison (0: none)
    seed: int
    window: int  # most events appended and not yet settled by the slowest consumer
    segment_events: int  # appends per event-store table
    relay_batch_size: int
    consumer_concurrency: int
    wait_time_seconds: int
    visibility_timeout: int
    claim_seconds: int
    shards: int  # ledger and idempotency tables (see sharding.py)
    stall_seconds: float  # no progress this long: give up waiting, the run failed
    quick: bool

    @property
    def poison_count(self) -> int:
        return 0 if self.poison_every <= 0 else self.events // self.poison_every


def parse_args(argv: Sequence[str] | None = None) -> tuple[Params, str | None, Path]:
    parser = argparse.ArgumentParser(
        description="Delivery guarantees of libs/events under consumer kills and poison "
        "messages, against the AWS emulator (see bench/README.md)"
    )
    parser.add_argument("--events", type=int, help="events published (10,000; 1,000 quick)")
    parser.add_argument("--kills", type=int, help="SIGKILLs of one consumer (5; 2 quick)")
    parser.add_argument("--poison-every", type=int, default=500, help="every Nth is poison")
    parser.add_argument("--seed", type=int, default=7, help="seeds the kill schedule")
    parser.add_argument("--quick", action="store_true", help="1,000 events and 2 kills")
    parser.add_argument("--endpoint", help="an emulator of your own instead of starting one")
    parser.add_argument("--output", type=Path, default=RESULTS_FILE)
    parser.add_argument("--window", type=int, default=100, help="events in flight at most")
    parser.add_argument(
        "--segment-events",
        type=int,
        default=50,
        help="swap the event store's table every N appends (moto deep-copies a table on "
        "every TransactWriteItems)",
    )
    parser.add_argument("--relay-batch-size", type=int, default=30)
    parser.add_argument("--consumer-concurrency", type=int, default=30)
    parser.add_argument("--wait-time-seconds", type=int, default=2, help="the long poll")
    parser.add_argument(
        "--visibility-timeout",
        type=int,
        default=30,
        help="the queues' and consumers' visibility timeout (the services' 30 s)",
    )
    parser.add_argument(
        "--claim-seconds",
        type=int,
        help="how long a killed consumer's idempotency claim holds (default: two thirds "
        "of the visibility timeout)",
    )
    parser.add_argument(
        "--shards",
        type=int,
        default=50,
        help="ledger tables, and idempotency tables per consumer (moto deep-copies every "
        "table a TransactWriteItems touches)",
    )
    args = parser.parse_args(argv)
    quick = bool(args.quick)
    visibility = int(args.visibility_timeout)
    params = Params(
        events=args.events or (1000 if quick else 10_000),
        kills=args.kills if args.kills is not None else (2 if quick else 5),
        poison_every=args.poison_every,
        seed=args.seed,
        window=args.window,
        segment_events=args.segment_events,
        relay_batch_size=args.relay_batch_size,
        consumer_concurrency=args.consumer_concurrency,
        wait_time_seconds=args.wait_time_seconds,
        visibility_timeout=visibility,
        claim_seconds=args.claim_seconds or max(2, visibility * 2 // 3),
        shards=max(1, args.shards),
        stall_seconds=max(60.0, 4.0 * visibility),
        quick=quick,
    )
    return params, args.endpoint, args.output
