"""One tool round of four calls against the real market-data, run the way a turn runs
it (`Toolbox.run_all`, all calls at once), against the same calls one at a time
(`Toolbox.run`, sequentially). The toolbox is the chat's own (`build_toolbox`), its
callers signing as the benchmark's user, in this process.

Each repetition times the round and each call alone, the round first in even
repetitions and last in odd ones; after unmeasured warm-up rounds, so market-data
answers from its memory cache and the pool holds four connections. Reported per
repetition and as medians: round / slowest single (the target: <= 1.3, i.e. the round
costs little more than its slowest call) and round / sum of singles.

The same four requests are also timed without the tools (`ServiceCaller.get_json`, at
once with ``asyncio.gather`` and one at a time), which tells the service's share of a
round (market-data serving four requests in one process) from the tools' (rendering and
trimming results in this one).
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from stack import cpu_ms

from marketscope_chat.llm.base import ToolCall
from marketscope_chat.tools import ServiceCaller, ToolContext, build_toolbox
from marketscope_chat.tools.toolbox import Toolbox, ToolResult
from marketscope_servicekit import Identity

TARGET = 1.3
WARM_UP = 3
CALLS = (
    ToolCall("call_quote", "quote", '{"symbol": "AAPL"}'),
    ToolCall("call_indicators", "indicators", '{"symbol": "MSFT"}'),
    ToolCall("call_risk", "risk", '{"symbols": ["IBM"]}'),
    ToolCall("call_history", "history", '{"symbol": "GOOG", "period": "1y"}'),
)
# What each of those calls asks market-data, as its tool sends it.
REQUESTS: dict[str, tuple[str, dict[str, str]]] = {
    "quote": ("/quotes/AAPL", {}),
    "indicators": ("/indicators/MSFT", {}),
    "risk": ("/risk", {"symbols": "IBM", "benchmark": "^GSPC", "period": "1y"}),
    "history": ("/history/GOOG", {"interval": "1d", "period": "1y"}),
}


def _ok(results: list[ToolResult]) -> None:
    failed = [f"{r.call.name}: {r.error}" for r in results if not r.ok]
    if failed:
        raise RuntimeError(f"tool calls failed: {failed}")


async def _round(toolbox: Toolbox, context: ToolContext) -> tuple[float, list[ToolResult]]:
    started = time.perf_counter()
    results = await toolbox.run_all(CALLS, context)
    elapsed = (time.perf_counter() - started) * 1000
    _ok(results)
    return elapsed, results


async def _measured_round(
    toolbox: Toolbox, context: ToolContext, server_pid: int
) -> tuple[float, list[ToolResult], float]:
    """A round, and the CPU time market-data spent meanwhile (in clock ticks, so only
    the sum over many rounds is worth reading)."""
    cpu = cpu_ms(server_pid)
    elapsed, results = await _round(toolbox, context)
    return elapsed, results, cpu_ms(server_pid) - cpu


async def _singles(toolbox: Toolbox, context: ToolContext) -> dict[str, float]:
    times = {}
    for call in CALLS:
        started = time.perf_counter()
        result = await toolbox.run(call, context)
        times[call.name] = (time.perf_counter() - started) * 1000
        _ok([result])
    return times


async def _timed(work: Awaitable[Any]) -> float:
    started = time.perf_counter()
    await work
    return (time.perf_counter() - started) * 1000


async def _http_only(caller: ServiceCaller, identity: Identity, repetitions: int) -> dict[str, Any]:
    def request(name: str) -> Awaitable[Any]:
        path, params = REQUESTS[name]
        return caller.get_json(path, identity, params)

    rounds: list[float] = []
    alone: dict[str, list[float]] = {name: [] for name in REQUESTS}
    ratios: list[float] = []
    for _ in range(repetitions):
        singles = {name: await _timed(request(name)) for name in REQUESTS}
        elapsed = await _timed(asyncio.gather(*(request(name) for name in REQUESTS)))
        rounds.append(elapsed)
        for name, value in singles.items():
            alone[name].append(value)
        ratios.append(elapsed / max(singles.values()))
    return {
        "round_median_ms": _ms(rounds),
        "single_median_ms": {name: _ms(values) for name, values in alone.items()},
        "round_to_slowest_single": round(statistics.median(ratios), 3),
    }


async def run_parallel_tools(
    market_data_url: str,
    rag_url: str,
    market_data_pid: int,
    internal_key: str,
    user_id: str,
    repetitions: int,
    log: Callable[[str], None],
) -> dict[str, Any]:
    log(f"parallel tools: {repetitions} rounds of {len(CALLS)} calls vs each call alone")
    async with (
        httpx.AsyncClient(base_url=market_data_url, timeout=30) as market_http,
        httpx.AsyncClient(base_url=rag_url, timeout=30) as rag_http,
    ):
        market_data = ServiceCaller("market-data", market_http, internal_key)
        toolbox = build_toolbox(market_data, ServiceCaller("rag", rag_http, internal_key))
        context = ToolContext(identity=Identity(user_id))
        for _ in range(WARM_UP):
            await _round(toolbox, context)
            await _singles(toolbox, context)
        rounds: list[float] = []
        in_round: dict[str, list[float]] = {call.name: [] for call in CALLS}
        alone: dict[str, list[float]] = {call.name: [] for call in CALLS}
        to_slowest: list[float] = []
        to_sum: list[float] = []
        server_cpu = 0.0
        for number in range(repetitions):
            if number % 2 == 0:
                elapsed, results, cpu = await _measured_round(toolbox, context, market_data_pid)
                singles = await _singles(toolbox, context)
            else:
                singles = await _singles(toolbox, context)
                elapsed, results, cpu = await _measured_round(toolbox, context, market_data_pid)
            server_cpu += cpu
            rounds.append(elapsed)
            for result in results:
                in_round[result.call.name].append(result.duration_ms)
            for name, value in singles.items():
                alone[name].append(value)
            to_slowest.append(elapsed / max(singles.values()))
            to_sum.append(elapsed / sum(singles.values()))
        http_only = await _http_only(market_data, context.identity, repetitions)
    ratio = statistics.median(to_slowest)
    return {
        "calls": [{"name": c.name, "arguments": c.arguments} for c in CALLS],
        "repetitions": repetitions,
        "round_median_ms": _ms(rounds),
        "round_mean_ms": round(statistics.fmean(rounds), 2),
        "market_data_cpu_per_round_ms": round(server_cpu / repetitions, 2),
        "single_median_ms": {name: _ms(values) for name, values in alone.items()},
        "in_round_median_ms": {name: _ms(values) for name, values in in_round.items()},
        "round_to_slowest_single": round(ratio, 3),
        "round_to_sum_of_singles": round(statistics.median(to_sum), 3),
        "round_to_slowest_single_per_repetition": [round(value, 3) for value in to_slowest],
        "target": TARGET,
        "target_met": ratio <= TARGET,
        "http_only": http_only,
    }


def _ms(values: list[float]) -> float:
    return round(statistics.median(values), 2)
