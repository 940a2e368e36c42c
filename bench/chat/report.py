"""The printed table of a run: one line per figure, the per-answer token figures after."""

from __future__ import annotations

from typing import Any


def _row(measure: str, p50: Any, p95: Any = "", note: str = "") -> str:
    return f"{measure:<46} {p50!s:>10} {p95!s:>10}  {note}"


def print_report(results: dict[str, Any]) -> None:
    offline, tools = results["offline_turns"], results["parallel_tools"]
    proxy, tokens = results["sse_proxy"], results["tokens"]
    machine = results["machine"]
    load = ", ".join(f"{value:.2f}" for value in machine["load_average_at_start"])
    print(f"\nchat benchmark, {machine['cpus']} CPUs, load at start {load}")
    print(_row("measure", "p50", "p95", "note"))
    print("-" * 90)
    first, full = offline["first_event"], offline["full_answer"]
    turns = f"{offline['turns_measured']} turns via gateway"
    print(_row("offline turn: first SSE event (ms)", first["p50_ms"], first["p95_ms"], turns))
    print(_row("offline turn: message.completed (ms)", full["p50_ms"], full["p95_ms"]))
    if offline["problems"]:
        print(_row("offline turns not as expected", len(offline["problems"]), "", "see JSON"))
    verdict = "met" if tools["target_met"] else "NOT met"
    print(
        _row(
            "parallel tools: round / slowest single",
            tools["round_to_slowest_single"],
            "",
            f"median of {tools['repetitions']}; target <= {tools['target']}: {verdict}",
        )
    )
    print(_row("parallel tools: round / sum of singles", tools["round_to_sum_of_singles"]))
    singles = ", ".join(f"{k} {v}" for k, v in tools["single_median_ms"].items())
    print(_row("parallel tools: round (ms)", tools["round_median_ms"], "", f"alone: {singles}"))
    print(
        _row(
            "  market-data CPU per round (ms)",
            tools["market_data_cpu_per_round_ms"],
            "",
            f"mean; round mean {tools['round_mean_ms']} ms wall",
        )
    )
    http = tools["http_only"]
    print(
        _row(
            "  same requests, no tools: round / slowest",
            http["round_to_slowest_single"],
            "",
            f"round {http['round_median_ms']} ms",
        )
    )
    waiting = tools["with_provider_latency"]
    print(
        _row(
            "  with a provider's latency: round / slowest",
            waiting["round_to_slowest_single"],
            "",
            f"{waiting['provider_latency_ms']:g} ms per call; target <= {waiting['target']}: "
            + ("met" if waiting["target_met"] else "NOT met"),
        )
    )
    byte = proxy["first_byte"]
    pairs = f"{proxy['pairs']} pairs, interleaved"
    for side in ("direct", "gateway"):
        figures = byte[side]
        print(_row(f"SSE first byte, {side} (ms)", figures["p50_ms"], figures["p95_ms"], pairs))
    print(
        _row(
            "SSE first byte, gateway - direct (ms)",
            byte["p50_difference_ms"],
            byte["p95_difference_ms"],
            f"paired median {byte['paired_difference_median_ms']}",
        )
    )
    answer = proxy["full_answer"]
    print(
        _row(
            "full answer, gateway - direct (ms)",
            round(answer["gateway"]["p50_ms"] - answer["direct"]["p50_ms"], 1),
            "",
            f"paired median {answer['paired_difference_median_ms']}",
        )
    )
    checks = "usage = server's" if tokens["all_match_server"] else "usage DIFFERS from server's"
    checks += ", cost = price row" if tokens["all_costs_match_price"] else ", cost DIFFERS"
    print(
        _row(
            f"tokens per answer ({tokens['model']}): prompt",
            tokens["prompt_tokens_median"],
            "",
            f"median; {checks}",
        )
    )
    print(_row("tokens per answer: completion", tokens["completion_tokens_median"], "", "median"))
    print(
        _row(
            "cost per 1000 answers (USD)",
            tokens["cost_usd_per_1000_answers"],
            "",
            f"price {tokens['price_usd_per_million']} per million",
        )
    )
    print(f"\n{'question':<42} {'tool':<11} {'calls':>5} {'prompt':>7} {'compl.':>7} {'USD':>11}")
    for item in tokens["answers"]:
        print(
            f"{item['question']:<42} {item['tool']:<11} {item['model_calls']:>5} "
            f"{item['prompt_tokens']:>7} {item['completion_tokens']:>7} {item['cost_usd']:>11.8f}"
        )
