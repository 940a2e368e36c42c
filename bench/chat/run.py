"""Benchmark of the chat analyst behind the gateway, over real HTTP on loopback, in one
run (side by side, as the machine is noisy):

1. offline turns   the 30 questions of the chat's offline tests through the gateway's
                   streamed messages route: time to the first event and to
                   message.completed, p50/p95 over ``--repetitions`` passes;
2. parallel tools  one round of 4 tool calls (quote, indicators, risk, history) with the
                   chat's own Toolbox.run_all against market-data, vs each call alone:
                   round / slowest single (target <= 1.3) and round / sum of singles;
3. SSE proxy       time to the first byte of the same streamed turn from chat directly
                   (gateway-signed) and through the gateway, interleaved;
4. tokens          prompt/completion tokens and cost per answer as the chat counts them,
                   with the compatible provider against a model server in OpenAI's wire
                   format that calls a tool, then answers, with usage chunks.

Every server is its own uvicorn process (emulator, market-data, rag, chat with the
offline engine, chat with the compatible provider, the model server, the gateway); the
clients run in this process. Writes bench/results/chat.json.

Usage: uv run python bench/chat/run.py [--quick] [--repetitions N] [--pairs N] [--rounds N]
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
from pathlib import Path
from typing import Any

# Run by path, so Python puts this folder first on sys.path: account, stack and the
# other modules next to this file import as top-level modules.
import httpx
from account import save_watchlist, sign_up, upload_note
from chat_table import ChatTable
from offline_turns import load_questions, run_offline_turns, watchlist_of
from parallel_tools import run_parallel_tools
from provider_latency import PROVIDER_LATENCY_SECONDS, with_provider_latency
from proxy import run_proxy_overhead
from report import print_report
from stack import REGION, Stack, log, machine_facts, running_stack
from token_usage import run_token_usage

from marketscope_chat.settings import Settings as ChatSettings
from marketscope_platform.aws import AwsClients, AwsSettings
from marketscope_servicekit import Identity
from marketscope_servicekit.testing import GatewaySigner

RESULTS_FILE = Path(__file__).resolve().parents[1] / "results" / "chat.json"
FULL = {"repetitions": 3, "pairs": 40, "rounds": 30}
QUICK = {"repetitions": 1, "pairs": 6, "rounds": 5}


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="a smaller run, under 2 minutes")
    parser.add_argument("--repetitions", type=int, help="measured passes over the 30 questions")
    parser.add_argument("--pairs", type=int, help="direct/gateway turn pairs for the proxy")
    parser.add_argument("--rounds", type=int, help="tool rounds (and single-call sets)")
    parser.add_argument("--output", type=Path, default=RESULTS_FILE)
    args = parser.parse_args(argv)
    for name, value in (QUICK if args.quick else FULL).items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    return args


async def benchmark(stack: Stack, args: argparse.Namespace) -> dict[str, Any]:
    questions = load_questions()
    limits = httpx.Limits(max_connections=20)
    aws = AwsClients(AwsSettings(endpoint_url=stack.emulator, default_region=REGION))
    async with (
        aws,
        httpx.AsyncClient(base_url=stack.gateway, timeout=120, limits=limits) as gateway,
    ):
        table = ChatTable(await aws.client("dynamodb"), ChatSettings().table_name)
        user = await sign_up(gateway)
        await save_watchlist(gateway, user, watchlist_of(questions))
        await upload_note(gateway, user)
        log(f"user {user.user_id}: watchlist saved, note indexed")
        signed = GatewaySigner(stack.internal_key, Identity(user.user_id))
        async with httpx.AsyncClient(base_url=stack.chat, timeout=120, auth=signed) as chat:
            offline = await run_offline_turns(
                gateway, user, questions, args.repetitions, log, table.clear
            )
            tools = await run_parallel_tools(
                stack.market_data,
                stack.rag,
                stack.market_data_pid,
                stack.internal_key,
                user.user_id,
                args.rounds,
                log,
            )
            with with_provider_latency(stack.market_data) as waiting_market_data:
                tools["with_provider_latency"] = await run_parallel_tools(
                    waiting_market_data,
                    stack.rag,
                    stack.market_data_pid,
                    stack.internal_key,
                    user.user_id,
                    args.rounds,
                    log,
                )
            tools["with_provider_latency"]["provider_latency_ms"] = PROVIDER_LATENCY_SECONDS * 1000
            proxy = await run_proxy_overhead(chat, gateway, user, args.pairs, log, table.clear)
        async with httpx.AsyncClient(
            base_url=stack.chat_priced, timeout=120, auth=signed
        ) as priced:
            tokens = await run_token_usage(priced, stack.model_server, log, table.clear)
    return {
        "chat_table_items_cleared": table.items_cleared,
        "offline_turns": offline,
        "parallel_tools": tools,
        "sse_proxy": proxy,
        "tokens": tokens,
    }


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    started = datetime.now(UTC)
    clock = time.monotonic()
    load_at_start = list(os.getloadavg())
    with running_stack() as stack:
        phases = asyncio.run(benchmark(stack, args))
    results = {
        "benchmark": "chat",
        "started_at": started.isoformat(timespec="seconds"),
        "seconds": round(time.monotonic() - clock, 1),
        "machine": machine_facts(load_at_start),
        "parameters": {
            "quick": args.quick,
            "repetitions": args.repetitions,
            "proxy_pairs": args.pairs,
            "tool_rounds": args.rounds,
            "servers": "one uvicorn process each; clients in the benchmark's process",
        },
        **phases,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, indent=2) + "\n")
    print_report(results)
    log(f"results written to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
