"""Benchmark of the notifier, on the moto emulator over real HTTP:

1. evaluation  ``--alerts`` alerts (10,000) over ``--symbols`` synthetic symbols (500),
               every condition kind, ``once`` and ``every_time``, set with the notifier's
               AlertService and primed by a first price (seeding.py); then rounds of one
               QuoteUpdated per symbol: quotes/s through `AlertEvaluator.on_quote`
               called directly ("evaluator") and end to end through SNS, a queue and
               `SqsConsumer` ("queue"), for quiet prices (nothing changes) and moves
               (some alerts fire);
2. latency     QuoteUpdated published to SNS -> NotificationCreated on the owner's
               WebSocket through the gateway, one at a time, with market-data, the
               notifier and the gateway each in its own uvicorn process: p50/p95/p99
               (target p99 <= 250 ms);
3. webhooks    `WebhookSender` deliveries/s to a loopback receiver at each
               ``--webhook-concurrency``, signatures verified with standardwebhooks.

Writes bench/results/notifier.json.

Usage: uv run python bench/notifier/run.py [--quick] [--phases evaluation,latency,webhooks]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

# Run by path, so Python puts this folder first on sys.path (its modules import as
# top-level ones); the repository root makes bench.chat and bench.events importable.
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from evaluation import catalog_topics, evaluator_round, queue_path, queue_round
from latency import run_latency
from population import Population
from report import print_report
from seeding import SEED_REQUESTS, seed, verify
from shards import Shards
from stack import LATENCY_SYMBOL, running_receiver, running_services
from webhooks import run_webhooks

from bench.chat.stack import REGION, log, machine_facts
from bench.events.stats import RequestCounter, UsageMeter
from marketscope_emulator.process import EmulatorProcess, free_port
from marketscope_notifier.settings import Settings as NotifierSettings
from marketscope_platform.aws import AwsClients, AwsSettings
from marketscope_servicekit import MetricsRecorder

RESULTS_FILE = Path(__file__).resolve().parents[1] / "results" / "notifier.json"
PHASES = ("evaluation", "latency", "webhooks")
TARGET_P99_MS = 250.0
FULL = {"alerts": 10_000, "symbols": 500, "latency_samples": 100, "webhooks": 2_000}
QUICK = {"alerts": 2_000, "symbols": 100, "latency_samples": 30, "webhooks": 500}


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add = parser.add_argument
    add("--quick", action="store_true", help="smaller sizes, about a minute and a half")
    add("--phases", default=",".join(PHASES), help="comma-separated: " + ", ".join(PHASES))
    add("--alerts", type=int, help="active alerts of the evaluation phase (10,000)")
    add("--symbols", type=int, help="symbols they are spread over (500)")
    add("--owners", type=int, default=100, help="owners of the alerts")
    add("--symbols-per-table", type=int, default=1, help="see shards.py")
    add("--seed-requests", choices=SEED_REQUESTS, default="batched", help="see seeding.py")
    add("--seed-concurrency", type=int, default=8, help="seeding requests in flight")
    add("--verify-symbols", type=int, default=20, help="symbols whose alerts are read back")
    add("--concurrency", type=int, default=30, help="quotes in flight, evaluator rounds")
    add("--queue-window", type=int, default=30, help="quotes in flight, queue rounds")
    add("--latency-samples", type=int, help="samples of the latency phase (100)")
    add("--latency-warmups", type=int, default=3, help="unmeasured samples first")
    add("--webhooks", type=int, help="deliveries at each concurrency (2,000)")
    add("--webhook-concurrency", default="1,32", help="comma-separated levels")
    add("--random-seed", type=int, default=7, help="of the symbols' prices and the alerts")
    add("--output", type=Path, default=RESULTS_FILE)
    args = parser.parse_args(argv)
    for name, value in (QUICK if args.quick else FULL).items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    args.phase_list = [phase.strip() for phase in args.phases.split(",") if phase.strip()]
    unknown = set(args.phase_list) - set(PHASES)
    if unknown:
        parser.error(f"unknown phases: {', '.join(sorted(unknown))}")
    args.webhook_levels = [int(level) for level in args.webhook_concurrency.split(",")]
    return args


def _usage(usage: Any, quotes: int) -> dict[str, Any]:
    """Requests, CPU of the benchmark and of the emulator, per quote."""
    emulator = usage.emulator_cpu_s
    return {
        "requests_per_quote": round(usage.total_requests / quotes, 1),
        "requests_by_operation": dict(sorted(usage.requests.items())),
        "emulator_cpu_ms_per_quote": None
        if emulator is None
        else round(emulator * 1000 / quotes, 1),
        "benchmark_cpu_ms_per_quote": round(usage.client_cpu_s * 1000 / quotes, 1),
        "emulator_busy": None if emulator is None else round(emulator / usage.wall_s, 2),
    }


async def evaluation_phase(
    endpoint: str, emulator_pid: int | None, args: argparse.Namespace
) -> dict[str, Any]:
    population = Population.of(args.symbols, args.owners, args.random_seed)
    metrics = MetricsRecorder("notifier")
    counter = RequestCounter()
    meter = UsageMeter(counter, emulator_pid)
    settings = AwsSettings(endpoint_url=endpoint, default_region=REGION)
    async with AwsClients(settings, max_pool_connections=max(50, args.concurrency * 2)) as aws:
        dynamodb = await aws.client("dynamodb")
        for name in ("dynamodb", "sqs", "sns"):
            counter.attach(await aws.client(name))
        started = time.perf_counter()
        shards = await Shards.create(dynamodb, population.symbols, args.symbols_per_table, metrics)
        log(f"{len(shards.tables)} tables made in {time.perf_counter() - started:.1f} s")
        try:
            seeded, by_symbol = await seed(
                shards,
                dynamodb,
                population,
                args.alerts,
                args.seed_requests,
                args.seed_concurrency,
                log,
            )
            log(
                f"{seeded['alerts']} alerts set ({seeded['primed_by_first_price']} primed by "
                f"the first price) in {seeded['seconds']} s"
            )
            checked = await verify(
                shards, dynamodb, by_symbol, args.verify_symbols, args.random_seed
            )
            log(
                f"read back: {checked['alerts_checked']} alerts "
                f"of {checked['symbols_checked']} symbols"
            )
            rounds: list[dict[str, Any]] = []

            def done(result: dict[str, Any], usage: Any) -> None:
                result.update(_usage(usage, result["quotes"]))
                rounds.append(result)
                log(
                    f"{result['round']} ({result['path']}): {result['quotes_per_second']} "
                    f"quotes/s, {result['alerts_evaluated_per_second']} alerts evaluated/s, "
                    f"{result['alerts_fired']} fired, {result['requests_per_quote']} "
                    "requests per quote"
                )

            first = population.first_prices()
            quiet = population.quiet_prices(first, args.random_seed + 10)
            with meter.measure() as usage:
                result = await evaluator_round(
                    shards, metrics, "quiet", quiet, population.as_of(1), args.concurrency, log
                )
            done(result, usage[0])
            topics = await catalog_topics(aws)
            async with queue_path(aws, topics, shards) as path:
                quiet_again = population.quiet_prices(quiet, args.random_seed + 11)
                with meter.measure() as usage:
                    result = await queue_round(
                        path,
                        metrics,
                        "quiet",
                        quiet_again,
                        population.as_of(2),
                        args.queue_window,
                        log,
                    )
                done(result, usage[0])
                moved = population.moved_prices(args.random_seed + 12)
                with meter.measure() as usage:
                    result = await evaluator_round(
                        shards, metrics, "moves", moved, population.as_of(3), args.concurrency, log
                    )
                done(result, usage[0])
                moved_again = population.moved_prices(args.random_seed + 13)
                with meter.measure() as usage:
                    result = await queue_round(
                        path,
                        metrics,
                        "moves",
                        moved_again,
                        population.as_of(4),
                        args.queue_window,
                        log,
                    )
                done(result, usage[0])
        finally:
            await shards.drop()
    return {
        "alerts": args.alerts,
        "symbols": args.symbols,
        "alerts_per_symbol": round(args.alerts / args.symbols, 1),
        "owners": args.owners,
        "tables": len(shards.tables),
        "symbols_per_table": args.symbols_per_table,
        "seeding": seeded,
        "read_back": checked,
        "rounds": rounds,
    }


async def latency_phase(endpoint: str, args: argparse.Namespace) -> dict[str, Any]:
    settings = AwsSettings(endpoint_url=endpoint, default_region=REGION)
    with running_services(endpoint) as services:
        async with AwsClients(settings) as aws:
            topics = await catalog_topics(aws)
            log(f"latency: {args.latency_samples} samples, one at a time")
            return await run_latency(
                services.gateway,
                await aws.client("sns"),
                await aws.client("dynamodb"),
                topics,
                NotifierSettings().table_name,
                LATENCY_SYMBOL,
                args.latency_samples,
                args.latency_warmups,
                TARGET_P99_MS,
                log,
            )


async def webhooks_phase(args: argparse.Namespace) -> dict[str, Any]:
    with running_receiver() as receiver:
        log(f"webhooks: {args.webhooks} deliveries at concurrency {args.webhook_levels}")
        return await run_webhooks(receiver.url, args.webhooks, args.webhook_levels, log)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    started = datetime.now(UTC)
    clock = time.monotonic()
    load_at_start = list(os.getloadavg())
    phases: dict[str, Any] = {}
    with EmulatorProcess(port=free_port()) as emulator:
        log(f"emulator ({emulator.kind}) on {emulator.endpoint}")
        if "evaluation" in args.phase_list:
            phases["evaluation"] = asyncio.run(
                evaluation_phase(emulator.endpoint, emulator.pid, args)
            )
        if "latency" in args.phase_list:
            phases["latency"] = asyncio.run(latency_phase(emulator.endpoint, args))
    if "webhooks" in args.phase_list:
        phases["webhooks"] = asyncio.run(webhooks_phase(args))
    results = {
        "benchmark": "notifier",
        "started_at": started.isoformat(timespec="seconds"),
        "seconds": round(time.monotonic() - clock, 1),
        "machine": machine_facts(load_at_start),
        "emulator": {"kind": "moto under gunicorn", "moto": version("moto")},
        "parameters": {
            key: value
            for key, value in vars(args).items()
            if key not in {"output", "phase_list", "webhook_levels", "phases"}
        }
        | {"phases": args.phase_list, "webhook_concurrency": args.webhook_levels},
        **phases,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, indent=2, default=str) + "\n")
    print_report(results)
    log(f"results written to {args.output} ({results['seconds']} s)")
    latency = phases.get("latency")
    webhooks = phases.get("webhooks")
    failed = (latency is not None and latency["published_to_socket"]["count"] == 0) or (
        webhooks is not None and not webhooks["all_delivered"]
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
