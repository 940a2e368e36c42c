"""What the benchmark prints: progress lines during the phases, the table at the end."""

from __future__ import annotations

from typing import Any

from params import LOW_LOAD_TIMEOUT_S


def progress(message: str) -> None:
    print(f"      {message}", flush=True)


def fmt(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def latency_line(label: str, summary: dict[str, Any], *quantiles: str) -> str:
    figures = "  ".join(f"{q} {fmt(summary[f'{q}_ms']):>7}" for q in quantiles)
    return f"   {label:<38}{figures}"


def cost_line(per_unit: dict[str, Any], unit: str) -> str:
    return (
        f"   per {unit}: {fmt(per_unit['requests'], 2)} requests, emulator CPU "
        f"{fmt(per_unit['emulator_cpu_ms'], 2)} ms, benchmark CPU "
        f"{fmt(per_unit['client_cpu_ms'], 2)} ms"
    )


def ceiling_lines(ceiling: dict[str, Any]) -> list[str]:
    lines = [
        "1. ceiling: raw SQS send_message_batch -> receive_message(10) -> delete_message_batch",
        f"   {'workers':>7} {'sent':>6} {'deleted':>8} {'seconds':>8} {'msg/s':>7} "
        f"{'req/msg':>8} {'emulator CPU ms/msg':>20} {'emulator busy':>14}",
    ]
    for run in ceiling["runs"]:
        unit, usage = run["per_message"], run["usage"]
        lines.append(
            f"   {run['workers']:>7} {run['messages_sent']:>6} {run['messages_deleted']:>8} "
            f"{fmt(run['seconds'], 2):>8} {fmt(run['messages_per_s'], 0):>7} "
            f"{fmt(unit['requests'], 2):>8} {fmt(unit['emulator_cpu_ms'], 2):>20} "
            f"{fmt(usage['emulator_busy'], 2):>14}"
        )
    lines.append(
        f"   ceiling = {fmt(ceiling['messages_per_s'], 0)} msg/s "
        f"(best: {ceiling['best_workers']} worker(s))"
    )
    return lines


def pipeline_lines(pipeline: dict[str, Any], params: dict[str, Any]) -> list[str]:
    segment = params["segment_events"]
    lines = [
        f"2. pipeline: {pipeline['events']} events; {params['producers']} appenders, at most "
        f"{params['window']} events in flight, relay batch {params['relay_batch_size']}, "
        f"consumer concurrency {params['consumer_concurrency']} (service defaults), "
        "event-store table "
        + (f"swapped every {segment} appends" if segment > 0 else "never swapped"),
        f"   {'events appended/s':<38}{fmt(pipeline['events_appended_per_s']):>9}",
        f"   {'events handled by all 3 consumers/s':<38}"
        f"{fmt(pipeline['events_handled_by_all_per_s']):>9}   "
        f"({pipeline['events_handled_by_all']} events in {fmt(pipeline['seconds'], 2)} s)",
        f"   {'deliveries/s (3 per event)':<38}{fmt(pipeline['deliveries_per_s']):>9}",
        latency_line(
            "publish->handled per delivery (ms)", pipeline["delivery_latency"], "p50", "p95", "p99"
        ),
        latency_line(
            "... until all 3 handled (ms)",
            pipeline["event_latency_all_consumers"],
            "p50",
            "p95",
            "p99",
        ),
        cost_line(pipeline["per_delivery"], "delivery")
        + f"; emulator busy {fmt(pipeline['usage']['emulator_busy'], 2)}",
        f"   outcomes: {pipeline['outcomes']}",
    ]
    if pipeline["status"] != "complete":
        lines.append(f"   INCOMPLETE ({pipeline['status']}): figures cover the events handled")
    return lines


def low_load_lines(low: dict[str, Any]) -> list[str]:
    lines = [
        f"3. low load: {low['events']} events one at a time "
        f"(after {low['warmup_events_excluded']} warm-up events)",
        latency_line("publish->handled per delivery (ms)", low["delivery_latency"], "p50", "p99"),
        latency_line(
            "... until all 3 handled (ms)", low["event_latency_all_consumers"], "p50", "p99"
        ),
        cost_line(low["per_event"], "event"),
    ]
    if low["events_not_handled_by_all"]:
        lines.append(
            f"   {low['events_not_handled_by_all']} event(s) not handled by all 3 within "
            f"{LOW_LOAD_TIMEOUT_S:.0f} s (left out of the figures)"
        )
    return lines


def target_lines(results: dict[str, Any]) -> list[str]:
    ratio, p50 = results["targets"]["ratio"], results["targets"]["low_load_p50_ms"]
    pipeline, ceiling = results["pipeline"], results["ceiling"]
    cpu = results["ratio_by_emulator_cpu"]
    return [
        f"pipeline / ceiling = {fmt(pipeline['deliveries_per_s'])} deliveries/s / "
        f"{fmt(ceiling['messages_per_s'])} msg/s = {fmt(ratio['value'], 2)}"
        f"   target >= {ratio['target']}: {'met' if ratio['met'] else 'NOT met'}",
        "   (both sides count SQS messages that were sent, received and deleted; a pipeline",
        "    delivery is also appended, relayed, published via SNS and handled idempotently)",
        f"   cross-check from emulator CPU (hardly moved by other load on the machine): "
        f"{fmt(cpu['ceiling_ms_per_message'], 2)} ms",
        f"    per ceiling message / {fmt(cpu['pipeline_ms_per_delivery'], 2)} ms per pipeline "
        f"delivery = {fmt(cpu['value'], 2)}",
        f"low-load p50 = {fmt(p50['value'])} ms"
        f"   target <= {p50['target']:.0f} ms: {'met' if p50['met'] else 'NOT met'}",
    ]


def print_report(results: dict[str, Any]) -> None:
    machine, emulator = results["machine"], results["machine"]["emulator"]
    rule = "-" * 90
    lines = [
        "",
        rule,
        f"MarketScope events benchmark, {results['timestamp']}: emulator {emulator['kind']} "
        f"({emulator_version(emulator)}), {machine['cpu_count']} CPUs, "
        f"Python {machine['python']}",
        rule,
        *ceiling_lines(results["ceiling"]),
        "",
        *pipeline_lines(results["pipeline"], results["parameters"]),
        "",
        *low_load_lines(results["low_load"]),
        rule,
        *target_lines(results),
        rule,
    ]
    print("\n".join(lines), flush=True)


def emulator_version(emulator: dict[str, Any]) -> str:
    if "ministack" in emulator:
        return f"ministack {emulator['ministack']}"
    return f"moto {emulator.get('moto')}"


def print_comparison(results: dict[str, Any]) -> None:
    """The emulators side by side, and every target."""
    runs = results["emulators"]
    kinds = list(runs)
    rows: list[tuple[str, list[str]]] = [
        ("ceiling msg/s", [fmt(runs[k]["ceiling"]["messages_per_s"], 0) for k in kinds]),
        ("pipeline deliveries/s", [fmt(runs[k]["pipeline"]["deliveries_per_s"]) for k in kinds]),
        ("pipeline / ceiling", [fmt(runs[k]["targets"]["ratio"]["value"], 2) for k in kinds]),
        (
            "emulator busy in the pipeline",
            [fmt(runs[k]["pipeline"]["usage"]["emulator_busy"], 2) for k in kinds],
        ),
        (
            "requests per event",
            [fmt(runs[k]["pipeline"]["per_event"]["requests"], 2) for k in kinds],
        ),
        (
            "emulator CPU ms per delivery",
            [fmt(runs[k]["pipeline"]["per_delivery"]["emulator_cpu_ms"], 2) for k in kinds],
        ),
        (
            "benchmark CPU ms per delivery",
            [fmt(runs[k]["pipeline"]["per_delivery"]["client_cpu_ms"], 2) for k in kinds],
        ),
        (
            "low-load p50 ms",
            [fmt(runs[k]["low_load"]["delivery_latency"]["p50_ms"]) for k in kinds],
        ),
    ]
    rule = "=" * 90
    lines = ["", rule, f"   {'':<34}" + "".join(f"{k:>14}" for k in kinds)]
    lines += [f"   {label:<34}" + "".join(f"{v:>14}" for v in values) for label, values in rows]
    operations = sorted(
        {op for k in kinds for op in runs[k]["pipeline"]["requests_per_event_by_operation"]}
    )
    lines.append("   requests per event by operation:")
    for op in operations:
        values = [
            fmt(runs[k]["pipeline"]["requests_per_event_by_operation"].get(op), 3) for k in kinds
        ]
        lines.append(f"     {op:<32}" + "".join(f"{v:>14}" for v in values))
    lines.append(f"   settings: {results['settings']['source']}")
    for name, goal in results["targets"].items():
        verdict = "reported" if goal["met"] is None else ("met" if goal["met"] else "NOT met")
        bound = "" if goal["target"] is None else f" (target {goal['target']})"
        lines.append(f"   {name:<34}{fmt(goal['value'], 2):>10}{bound}: {verdict}")
    lines.append(rule)
    print("\n".join(lines), flush=True)
