"""Proof of the event backbone's delivery guarantees under failure, against the AWS
emulator over real HTTP.

QuoteUpdated events are appended to a `DynamoDBEventStore` with the outbox marker and
published by `OutboxRelay` through `SnsPublisher`; SNS fans them out to three queues
subscribed with `subscribe_service` (each with its DLQ and the redrive policy), consumed
by three consumer processes (`consumer.py`: `SqsConsumer`, `DynamoDBIdempotencyStore`)
whose handler writes each side effect to a ledger table with a conditional put.

1. delivery  every ``--poison-every``-th event is poison (its handler refuses it with
             `TerminalHandlerError`); one consumer is SIGKILLed ``--kills`` times and
             started again. Checked: nothing lost, no side effect attempted twice,
             every poison event in every DLQ with the reason it was refused.
2. redrive   the consumers start again with the fixed handler and every DLQ is moved
             back (`marketscope_cli.dlq.redrive`). Checked: every event in every ledger,
             every queue and DLQ empty.

Exits 1 when a guarantee fails. Usage:
    uv run python bench/chaos/run.py [--events N] [--kills N] [--poison-every N]
        [--seed N] [--quick] [--endpoint URL] [--output PATH]
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import tempfile
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

# Run by path, so Python puts this folder first on sys.path: the modules next to this
# file import as top-level modules.
from dead_letters import read_dead_letters
from delivery import run_delivery
from fleet import Fleet, FleetSettings
from handlers import FIXED
from params import Params, parse_args
from producer import Producer, segment_count
from redrive import run_redrive
from report import print_report
from results import assemble, machine_info, write_results
from tally import ReportReader
from timeline import Timeline
from verdict import (
    after_delivery,
    after_redrive,
    attempted_again_by_first_writer,
    duplicate_check,
    kills_check,
    phases_check,
    read_ledgers,
)
from wiring import (
    EmulatorInfo,
    Resources,
    connect,
    emulator_at,
    other_subscribers,
    redrive_policy,
)

from marketscope_platform import AwsClients, AwsSettings


async def chaos(
    params: Params, emulator: EmulatorInfo, run_dir: Path, timeline: Timeline
) -> dict[str, Any]:
    started, machine = datetime.now(UTC), machine_info(emulator)
    settings = AwsSettings(endpoint_url=emulator.endpoint, default_region="us-east-1")
    async with AwsClients(settings) as clients:
        aws = await connect(clients)
        resources = Resources()
        fleet: Fleet | None = None
        try:
            specs = await resources.consumers(aws, params.visibility_timeout, params.shards)
            ledger_tables = await resources.ledgers(aws, params.shards)
            tables = await resources.many_tables(
                aws, "chaos-market-data", segment_count(params.events, params.segment_events)
            )
            policy = await redrive_policy(aws, specs[0].queue_url)
            others = await other_subscribers(aws, specs)
            if others:
                print(
                    f"warning: {len(others)} other subscription(s) of the QuoteUpdated topic "
                    "will receive this run's events too: " + ", ".join(others[:5]),
                    flush=True,
                )
            fleet = Fleet(
                specs,
                FleetSettings(
                    endpoint=emulator.endpoint,
                    ledger_tables=tuple(ledger_tables),
                    visibility_timeout=params.visibility_timeout,
                    claim_seconds=params.claim_seconds,
                    wait_time_seconds=params.wait_time_seconds,
                    concurrency=params.consumer_concurrency,
                    run_dir=run_dir,
                ),
                ReportReader(),
            )
            producer = Producer(aws, tables, params.relay_batch_size)
            timeline.mark("resources made")
            print(
                f"[1/2] delivery: {params.events:,} events ({params.poison_count} poison) "
                f"to {len(specs)} consumer processes, {params.kills} SIGKILLs",
                flush=True,
            )
            delivery = await run_delivery(aws, fleet, producer, params, emulator.pid)
            timeline.mark("delivery done, consumers stopped")
            published = producer.published
            fleet.launch(FIXED)
            ledgers = await read_ledgers(aws, fleet, ledger_tables)
            poison = set(published.poison_ids)
            detail = {}
            for spec in specs:
                dead = await read_dead_letters(aws.sqs, spec, params.poison_count + 100)
                detail[spec.name] = dead.detail(poison, fleet.reader.tallies[spec.name])
            delivered, delivery_checks = after_delivery(
                published, ledgers, detail, delivery.pending_in_outbox, params.events
            )
            timeline.mark("ledgers and DLQs read")
            print("[2/2] redrive: fixed handler, every DLQ moved back", flush=True)
            redrive = await run_redrive(aws, fleet, params, poison)
            timeline.mark("redrive done, consumers stopped")
            final = await read_ledgers(aws, fleet, ledger_tables)
            redriven, redrive_checks = await after_redrive(aws, fleet, published, final)
            killed = {kill.incarnation for kill in delivery.kills} | {
                writer
                for writer, code in (delivery.stop_codes | redrive.stop_codes).items()
                if code == -signal.SIGKILL
            }
            checks = [
                *delivery_checks,
                duplicate_check(final, killed),
                kills_check(params.kills, len(delivery.kills)),
                *redrive_checks,
                phases_check({"delivery": delivery.status, "redrive": redrive.status}),
            ]
        finally:
            if fleet is not None:
                fleet.stop()  # after an error: no consumer process outlives the run
            await resources.remove(aws)
            timeline.mark("resources removed")
    if hasattr(os, "getloadavg"):
        machine["load_average_at_end"] = list(os.getloadavg())
    machine["run_directory"] = str(run_dir)
    machine["other_quote_subscriptions"] = others
    results = assemble(
        params, machine, started, policy, delivery, delivered, redrive, redriven, checks
    )
    again = attempted_again_by_first_writer(final)
    for kill in results["delivery"]["kills"]:
        kill["side_effects_attempted_again"] = again.get(kill["incarnation"], 0)
    return results


def main(argv: Sequence[str] | None = None) -> int:
    params, endpoint, output = parse_args(argv)
    # SIGTERM stops the run as Ctrl-C does: the consumers, the resources and the emulator
    # are cleaned up on the way out.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    run_dir = Path(tempfile.mkdtemp(prefix="marketscope-bench-chaos-"))
    print(f"consumer reports and logs in {run_dir}", flush=True)
    timeline = Timeline()
    try:
        with emulator_at(endpoint) as emulator:
            timeline.mark("emulator ready")
            results = asyncio.run(chaos(params, emulator, run_dir, timeline))
    except KeyboardInterrupt:
        print("interrupted: the consumers, the run's queues and tables, the emulator stopped")
        return 130
    timeline.mark("emulator stopped")
    results["run_seconds"] = timeline.marks["emulator stopped"]
    results["timeline_s"] = timeline.marks
    print_report(results)
    write_results(results, output)
    print(f"results written to {output}")
    return 0 if results["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
