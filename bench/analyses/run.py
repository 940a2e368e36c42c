"""Benchmark of analysis jobs through the gateway, over real HTTP and WebSocket on
loopback, on the offline engine:

1. sequential  ``--runs`` analyses of a 5-symbol portfolio one after another: time from
               the POST being sent to AnalysisCompleted arriving on the owner's socket,
               p50/p95/max (target p95 <= 10 s), to the first AnalysisProgressed, and
               the worker's stage timings (gathering, computing, searching, writing) as
               shares of its time, with what the request takes beyond them;
2. concurrent  ``--concurrent`` analyses queued at once by ``--accounts`` accounts: all
               must complete; wall time, throughput per minute, p50/p95.

Every server is its own uvicorn process (emulator, market-data, rag, chat with the
offline engine, the gateway; bench/chat/stack.py); the clients run in this process.
Writes bench/results/analyses.json.

Usage: uv run python bench/analyses/run.py [--quick] [--runs N] [--concurrent N]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

# Run by path, so Python puts this folder first on sys.path (runs, watcher and report
# import as top-level modules); the repository root makes bench.chat importable.
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import httpx
from report import print_report
from runs import PORTFOLIO, run_concurrent, run_sequential
from watcher import AnalysisWatcher, watching

from bench.chat.account import User, sign_up, upload_note
from bench.chat.chat_table import ChatTable
from bench.chat.stack import REGION, Stack, log, machine_facts, running_stack
from marketscope_chat.settings import Settings as ChatSettings
from marketscope_platform.aws import AwsClients, AwsSettings

RESULTS_FILE = Path(__file__).resolve().parents[1] / "results" / "analyses.json"
TARGET_P95_SECONDS = 10
# The replay's clock starts on the last day of its data, so that every symbol of the
# portfolio has all the history there is behind it: a year for four of them, FB's 195
# days since its listing in May 2012. A later day would end the replay at once (quotes
# held at the last close and marked stale) with the same history.
REPLAY_START = "2013-03-01"
FULL = {"runs": 20, "concurrent": 10}
QUICK = {"runs": 5, "concurrent": 4}


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="a smaller run, about a minute")
    parser.add_argument("--runs", type=int, help="sequential analyses measured")
    parser.add_argument("--warmups", type=int, default=1, help="unmeasured analyses first")
    parser.add_argument("--concurrent", type=int, help="analyses queued at once")
    parser.add_argument("--accounts", type=int, default=2, help="owners of the concurrent ones")
    parser.add_argument("--output", type=Path, default=RESULTS_FILE)
    args = parser.parse_args(argv)
    for name, value in (QUICK if args.quick else FULL).items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    return args


async def benchmark(stack: Stack, args: argparse.Namespace) -> dict[str, Any]:
    aws = AwsClients(AwsSettings(endpoint_url=stack.emulator, default_region=REGION))
    async with (
        aws,
        httpx.AsyncClient(base_url=stack.gateway, timeout=60) as gateway,
        contextlib.AsyncExitStack() as sockets,
    ):
        table = ChatTable(await aws.client("dynamodb"), ChatSettings().table_name)
        # The note gives the searching stage a document to find, as an owner's would.
        users: list[User] = []
        for _ in range(max(1, args.accounts)):
            users.append(await sign_up(gateway))
            await upload_note(gateway, users[-1])
        log(f"{len(users)} accounts signed up, a note indexed for each")
        owners: list[tuple[User, AnalysisWatcher]] = [
            (user, await sockets.enter_async_context(watching(stack.gateway, user.auth)))
            for user in users
        ]
        user, watcher = owners[0]
        sequential = await run_sequential(
            gateway, user, watcher, args.runs, args.warmups, log, table.clear
        )
        await table.clear()
        concurrent = await run_concurrent(gateway, owners, args.concurrent, log)
    p95 = sequential["request_to_completed"].get("p95_ms")
    return {
        "target_p95_seconds": TARGET_P95_SECONDS,
        "p95_seconds": None if p95 is None else round(p95 / 1000, 2),
        # A failed run is not a fast one: the target holds only if every run completed.
        "met": p95 is not None and sequential["failures"] == 0 and p95 <= TARGET_P95_SECONDS * 1000,
        "chat_table_items_cleared": table.items_cleared,
        "sequential": sequential,
        "concurrent": concurrent,
    }


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    started = datetime.now(UTC)
    clock = time.monotonic()
    load_at_start = list(os.getloadavg())
    servers_env = {"market-data": {"MARKETSCOPE_MARKET_DATA_REPLAY_START": REPLAY_START}}
    with running_stack(priced=False, env=servers_env) as stack:
        phases = asyncio.run(benchmark(stack, args))
    results = {
        "benchmark": "analyses",
        "started_at": started.isoformat(timespec="seconds"),
        "seconds": round(time.monotonic() - clock, 1),
        "machine": machine_facts(load_at_start),
        "parameters": {
            "quick": args.quick,
            "runs": args.runs,
            "warmups": args.warmups,
            "concurrent": args.concurrent,
            "accounts": max(1, args.accounts),
            "portfolio": PORTFOLIO,
            "engine": "offline",
            "chat_analysis_concurrency": ChatSettings().analysis_concurrency,
            "market_data_replay_start": REPLAY_START,
            "servers": "one uvicorn process each; clients in the benchmark's process",
        },
        **phases,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, indent=2) + "\n")
    print_report(results)
    log(f"results written to {args.output}")
    sequential, concurrent = results["sequential"], results["concurrent"]
    return 0 if sequential["failures"] == 0 and concurrent["all_completed"] else 1


if __name__ == "__main__":
    sys.exit(main())
