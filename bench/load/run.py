"""Load and soak through the gateway, against the stack ``marketscope up`` starts (the
embedded emulator and the five services, chat on its offline engine):

1. load   ``--seconds`` (60) of mixed REST at a fixed rate (``--rate``, open loop):
          quotes, the stock overview, document search and chat turns, spread over
          ``--users`` accounts, while ``--sockets`` WebSocket clients stay subscribed
          to ``quotes:`` channels and ping. Per route: requests, errors, p50/p95/p99.
2. soak   ``--soak-minutes`` (10) at the same rate and sockets; every service's RSS
          sampled every 5 s. Growth: the median of the last minute against the median
          of the first minute after ``--warm-up-minutes`` (2).

After each phase: every service's own per-route latency, read by an admin from the ops
API (`inside.py`), the CPU each service, the emulator and this client spent (`cpu.py`),
and the AWS requests each service made, from the emulator's access log (`aws_calls.py`):
where the client's time went.

Targets: 0 errors in both phases; every service's RSS grows less than 10 % in the soak.
Writes bench/results/load.json.

Usage: uv run python bench/load/run.py [--rate N] [--seconds N] [--soak-minutes N] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

# Run by path: this folder comes first on sys.path; the root makes bench.* importable.
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import httpx
from aws_calls import AccessLog, access_log_environment, aws_call_figures
from cpu import cpu_figures, cpu_seconds, stack_processes
from inside import ADMIN_EMAIL, service_routes, sign_up_admin
from memory import RssSamples, sample_rss, service_processes
from mix import ROUTES, LoadUser, send, start_conversation
from pacing import LoadFigures, run_at_rate
from sockets import SocketFigures, close_clients, open_clients

from bench.chat.account import sign_up
from bench.chat.stack import log, machine_facts
from bench.events.stats import latency_summary
from bench.web.stack import running_stack

ROOT = Path(__file__).resolve().parents[2]
RESULTS_FILE = ROOT / "bench" / "results" / "load.json"
TARGET_RSS_GROWTH_PERCENT = 10.0
# What the benchmark does not measure: the per-user and per-address rate limits (raised
# by bench/web's stack), the registrations per address (its users and the admin sign up
# from one), the tokens' 15-minute life (a soak outlives it) and chat's daily token
# budget (the soak's turns would spend it).
STACK_ENV = {
    "MARKETSCOPE_GATEWAY_REGISTRATIONS_PER_IP": "100",
    "MARKETSCOPE_GATEWAY_ACCESS_TOKEN_MINUTES": "60",
    "MARKETSCOPE_CHAT_DAILY_TOKEN_BUDGET": "1000000000",
    "MARKETSCOPE_GATEWAY_ADMIN_EMAILS": json.dumps([ADMIN_EMAIL]),
}
# The ops API's window: the load phase (60 s) and the preparation's few requests, or
# the soak's last five minutes.
INSIDE_MINUTES = 5


@dataclass(frozen=True)
class Params:
    rate: float
    seconds: float
    soak_minutes: float
    warm_up_minutes: float
    users: int
    sockets: int
    seed: int


def parse_args(argv: Sequence[str] | None) -> tuple[Params, Path]:
    parser = argparse.ArgumentParser(description="Load and soak through the gateway")
    parser.add_argument("--rate", type=float, default=20.0, help="REST requests per second")
    parser.add_argument("--seconds", type=float, default=60.0, help="the load phase")
    parser.add_argument("--soak-minutes", type=float, default=10.0, help="0: no soak")
    parser.add_argument("--warm-up-minutes", type=float, default=2.0)
    parser.add_argument("--users", type=int, default=6)
    parser.add_argument("--sockets", type=int, default=30, help="WebSocket clients")
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="20 s of load, a 3-minute soak")
    parser.add_argument("--output", type=Path, default=RESULTS_FILE)
    args = parser.parse_args(argv)
    if args.quick:
        args.seconds, args.soak_minutes, args.warm_up_minutes = 20.0, 3.0, 1.0
    params = Params(
        rate=args.rate,
        seconds=args.seconds,
        soak_minutes=args.soak_minutes,
        warm_up_minutes=args.warm_up_minutes,
        users=args.users,
        sockets=args.sockets,
        seed=args.seed,
    )
    return params, args.output


async def prepare_users(client: httpx.AsyncClient, count: int) -> list[LoadUser]:
    """Signed up, a conversation each, every route called once (warm caches, loaded
    models): the measured requests are not the first ones."""
    users = [LoadUser(await sign_up(client)) for _ in range(count)]
    rng = random.Random(0)
    for user in users:
        created, conversation = await start_conversation(client, user)
        created.raise_for_status()
        for route in ROUTES:
            (await send(client, route, user, rng, conversation)).raise_for_status()
        if conversation is not None:
            user.give_back(conversation)
    return users


def summary(values: Sequence[float]) -> dict[str, Any]:
    return {
        name: round(value, 1) if isinstance(value, float) else value
        for name, value in latency_summary(values).items()
    }


def route_table(figures: LoadFigures) -> dict[str, Any]:
    table: dict[str, Any] = {}
    for name, route in sorted(figures.routes.items()):
        table[name] = {
            **summary(route.latencies_ms),
            "errors": sum(route.errors.values()),
            "error_reasons": dict(route.errors.most_common(5)),
        }
    return table


def phase_figures(figures: LoadFigures, sockets: SocketFigures, seconds: float) -> dict[str, Any]:
    done = sum(len(route.latencies_ms) for route in figures.routes.values())
    return {
        "seconds": seconds,
        "requests_planned": figures.planned,
        "requests_answered": done,
        "achieved_rate": round(done / seconds, 2),
        "late_starts": figures.late_starts,
        "most_in_flight": figures.most_in_flight,
        "errors": figures.errors,
        "routes": route_table(figures),
        "websocket": {
            "clients": sockets.clients,
            "ping_round_trip": summary(sockets.ping_ms),
            "events_received": dict(sockets.events),
            "errors": sum(sockets.errors.values()),
            "error_reasons": dict(sockets.errors),
        },
    }


def print_phase(title: str, phase: dict[str, Any]) -> None:
    log(
        f"{title}: {phase['requests_answered']} requests in {phase['seconds']:g} s "
        f"({phase['achieved_rate']}/s), {phase['errors']} errors, "
        f"{phase['websocket']['errors']} socket errors"
    )
    log(f"  {'route':<46} {'n':>6} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'errors':>7}")
    for name, row in phase["routes"].items():
        log(
            f"  {name:<46} {row['count']:>6} {row['p50_ms']:>8} {row['p95_ms']:>8} "
            f"{row['p99_ms']:>8} {row['errors']:>7}"
        )
    cpu = phase.get("cpu")
    if cpu:
        log(
            f"  CPU: {cpu['cores_busy']} of {cpu['cores_available']} cores busy; "
            + ", ".join(
                f"{name} {part['cores']} ({part['ms_per_request']} ms/request)"
                for name, part in cpu["by_part"].items()
            )
        )
    aws = phase.get("aws_requests")
    if aws:
        log(
            f"  AWS requests: {aws['total']} ({aws['per_rest_request']} per REST request); "
            + ", ".join(
                f"{caller} {entry['per_rest_request']}"
                + " ("
                + ", ".join(f"{op} {n}" for op, n in list(entry["operations"].items())[:4])
                + ")"
                for caller, entry in aws["by_caller"].items()
            )
        )
    ping = phase["websocket"]["ping_round_trip"]
    if ping.get("count"):
        log(
            f"  {'WebSocket ping -> pong':<46} {ping['count']:>6} {ping['p50_ms']:>8} "
            f"{ping['p95_ms']:>8} {ping['p99_ms']:>8} {phase['websocket']['errors']:>7}"
        )


def print_inside(title: str, inside: dict[str, Any]) -> None:
    log(f"  {title}, inside each service (its own recorder, last {INSIDE_MINUTES} min):")
    for service, routes in inside.items():
        if "status" in routes:
            log(f"    {service}: {routes['status']} ({routes['detail']})")
            continue
        for route, row in list(routes.items())[:6]:
            log(
                f"    {service + ' ' + route:<52} {row['requests']:>6} {row['p50_ms']!s:>8} "
                f"{row['p95_ms']!s:>8} {row['p99_ms']!s:>8} {row['errors']:>7}"
            )


def progress(label: str, total_s: float) -> Any:
    def report(second: int, figures: LoadFigures) -> None:
        if second % 10 == 0:
            done = sum(len(r.latencies_ms) for r in figures.routes.values())
            log(f"  {label} {second}/{total_s:g} s: {done} answered, {figures.errors} errors")

    return report


class PhaseCosts:
    """What a phase cost, from `start` to `finish`: the CPU of every process of the stack
    and of this client, and the AWS requests each service made."""

    def __init__(self, up_pid: int, access_log: AccessLog) -> None:
        self._processes = stack_processes(up_pid)
        self._access_log = access_log
        self._cpu: dict[str, float] = {}
        self._began = 0.0

    def start(self) -> None:
        self._cpu, self._began = cpu_seconds(self._processes), time.perf_counter()
        self._access_log.mark()

    def finish(self, requests: int) -> dict[str, Any]:
        return {
            "cpu": cpu_figures(
                self._cpu,
                cpu_seconds(self._processes),
                seconds=time.perf_counter() - self._began,
                requests=requests,
            ),
            "aws_requests": aws_call_figures(self._access_log.since_mark(), requests),
        }


async def measure(
    gateway: str, up_pid: int, params: Params, access_log: AccessLog
) -> dict[str, Any]:
    limits = httpx.Limits(max_connections=400, max_keepalive_connections=100)
    async with httpx.AsyncClient(base_url=gateway, timeout=30, limits=limits) as client:
        log(f"{params.users} users, a conversation each, every route once")
        admin = await sign_up_admin(client)
        users = await prepare_users(client, params.users)
        sockets = SocketFigures()
        clients, readers = await open_clients(
            gateway, [u.user for u in users], params.sockets, sockets
        )
        log(f"{params.sockets} WebSocket clients subscribed")
        try:
            log(f"load: {params.rate:g} requests/s for {params.seconds:g} s")
            costs = PhaseCosts(up_pid, access_log)
            costs.start()
            load = await run_at_rate(
                client, users, rate=params.rate, seconds=params.seconds, seed=params.seed,
                on_second=progress("load", params.seconds),
            )  # fmt: skip
            results: dict[str, Any] = {"load": phase_figures(load, sockets, params.seconds)}
            results["load"].update(costs.finish(results["load"]["requests_answered"]))
            results["load"]["inside"] = await service_routes(client, admin, INSIDE_MINUTES)
            print_phase("load", results["load"])
            print_inside("load", results["load"]["inside"])
            if params.soak_minutes > 0:
                costs.start()
                results["soak"] = await soak(client, users, up_pid, sockets, params)
                results["soak"].update(costs.finish(results["soak"]["requests_answered"]))
                results["soak"]["inside"] = await service_routes(client, admin, INSIDE_MINUTES)
                print_phase("soak", results["soak"])
                print_inside("soak", results["soak"]["inside"])
        finally:
            await close_clients(clients, readers)
    return results


async def soak(
    client: httpx.AsyncClient,
    users: list[LoadUser],
    up_pid: int,
    sockets: SocketFigures,
    params: Params,
) -> dict[str, Any]:
    seconds = params.soak_minutes * 60
    log(f"soak: {params.rate:g} requests/s for {params.soak_minutes:g} minutes, RSS every 5 s")
    sockets.reset()
    samples = RssSamples()
    sampler = asyncio.create_task(sample_rss(service_processes(up_pid), samples))
    try:
        figures = await run_at_rate(
            client, users, rate=params.rate, seconds=seconds, seed=params.seed + 1,
            on_second=progress("soak", seconds),
        )  # fmt: skip
    finally:
        sampler.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sampler
    phase = phase_figures(figures, sockets, seconds)
    growth = samples.growth(params.warm_up_minutes * 60)
    phase["rss"] = growth
    phase["rss_samples"] = samples.by_service
    for name, row in growth.items():
        log(
            f"  RSS {name:<12} {row['rss_after_warm_up_mib']:>8} MiB after warm-up, "
            f"{row['rss_at_end_mib']:>8} MiB at the end: {row['growth_percent']:+.2f} %"
        )
    return phase


def verdict(results: dict[str, Any]) -> dict[str, Any]:
    phases = [results["load"], *([results["soak"]] if "soak" in results else [])]
    errors = sum(p["errors"] + p["websocket"]["errors"] for p in phases)
    checks: dict[str, Any] = {"no_errors": {"met": errors == 0, "value": errors}}
    if "soak" in results:
        growth = {n: r["growth_percent"] for n, r in results["soak"]["rss"].items()}
        checks["rss_growth_below_10_percent"] = {
            "met": bool(growth) and max(growth.values()) < TARGET_RSS_GROWTH_PERCENT,
            "value": growth,
        }
    return checks


def main(argv: Sequence[str] | None = None) -> int:
    params, output = parse_args(argv)
    started = datetime.now(UTC)
    load_at_start = list(os.getloadavg())
    log("starting marketscope up on free ports")
    with tempfile.TemporaryDirectory(prefix="marketscope-bench-load-") as folder:
        access_log = AccessLog(Path(folder) / "emulator-access.log")
        environment = {**STACK_ENV, **access_log_environment(access_log.path)}
        with running_stack(prefix="marketscope-bench-load-", env_overrides=environment) as stack:
            log(f"stack ready at {stack.web_url}")
            results = asyncio.run(measure(stack.web_url, stack.pid, params, access_log))
    checks = verdict(results)
    report = {
        "benchmark": "load",
        "started_at": started.isoformat(),
        "finished_at": datetime.now(UTC).isoformat(),
        "machine": machine_facts(load_at_start),
        "params": asdict(params),
        "stack_environment": STACK_ENV,
        **results,
        "targets": checks,
        "ok": all(check["met"] for check in checks.values()),
    }
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(report, indent=2) + "\n")
    log(f"wrote {output}; targets: " + ", ".join(f"{k} {v['met']}" for k, v in checks.items()))
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
