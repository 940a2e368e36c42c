"""Benchmark of the event backbone (libs/events) against AWS emulators, over real HTTP.

One run goes through the three phases on each emulator in turn, moto (the embedded
default) and ministack (5-18x faster, so the library's own cost shows), and compares
them side by side. The consumers and relays run with the services' default settings.
The phases, each on freshly made queues and tables:

1. ceiling   what the emulator itself can move: raw SQS send_message_batch ->
             receive_message -> delete_message_batch on one queue (batches of 10) by a few
             concurrent asyncio workers; the best worker count is "the ceiling", in msg/s.
2. pipeline  DynamoDBEventStore.append (outbox marker) -> OutboxRelay -> SNS publish_batch
             -> 3 subscribed queues (gateway, notifier, chat) -> 3 SqsConsumers with DynamoDB
             idempotency, handling QuoteUpdated, with a bounded number of events in flight.
             Each event is 3 SQS deliveries; deliveries/s is what the ceiling is compared to.
3. low load  one event at a time, each appended and awaited on all three consumers.

Usage: uv run python bench/events/run.py [--events N] [--quick] [--emulators moto,ministack]
       [--endpoint URL]
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

# Run by path, so Python puts this folder first on sys.path: the phases' modules next to
# this file import as top-level modules.
from ceiling import run_ceiling
from low_load import run_low_load
from params import Params, parse_args
from report import print_comparison, print_report
from results import assemble, combine, machine_info, write_results
from stats import UsageMeter
from throughput import run_throughput
from wiring import EmulatorInfo, connect, emulator_at

from marketscope_platform import AwsClients, AwsSettings


async def benchmark(params: Params, emulator: EmulatorInfo) -> dict[str, Any]:
    started, machine = datetime.now(UTC), machine_info(emulator)
    settings = AwsSettings(endpoint_url=emulator.endpoint, default_region="us-east-1")
    async with AwsClients(settings) as clients:
        aws = await connect(clients)
        meter = UsageMeter(aws.requests, emulator.pid)
        print(f"[1/3] ceiling: raw SQS cycles, workers {params.ceiling_workers}", flush=True)
        ceiling = await run_ceiling(aws, meter, params)
        print(f"[2/3] pipeline: {params.events} events through 3 consumers", flush=True)
        throughput = await run_throughput(aws, meter, params)
        print(f"[3/3] low load: {params.latency_events} events one at a time", flush=True)
        low_load = await run_low_load(aws, meter, params)
    if hasattr(os, "getloadavg"):
        machine["load_average_at_end"] = list(os.getloadavg())
    return assemble(params, machine, started, ceiling, throughput, low_load)


def main(argv: Sequence[str] | None = None) -> int:
    params, endpoint, output = parse_args(argv)
    started = datetime.now(UTC)
    runs: dict[str, dict[str, Any]] = {}
    for kind in ["external"] if endpoint else params.emulators:
        with emulator_at(endpoint, kind) as emulator:
            runs[emulator.kind] = asyncio.run(benchmark(params, emulator))
        print_report(runs[emulator.kind])
    results = combine(params, started, runs)
    print_comparison(results)
    write_results(results, output)
    print(f"results written to {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
