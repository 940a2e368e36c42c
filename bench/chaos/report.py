"""What the run prints at the end: the figures of each phase and the guarantees."""

from __future__ import annotations

from typing import Any


def fmt(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def per_consumer(values: dict[str, Any]) -> str:
    return ", ".join(f"{name} {value:,}" for name, value in values.items())


def delivery_lines(delivery: dict[str, Any]) -> list[str]:
    kills = delivery["kills"]
    lines = [
        "1. delivery under chaos",
        f"   events published        {fmt(delivery['events_published'], 0)} "
        f"({delivery['poison_events']} poison, {delivery['normal_events']:,} normal)",
        f"   handled (ledger)        {per_consumer(delivery['handled'])}",
        f"   lost                    {per_consumer(delivery['lost'])}",
        f"   duplicate side effects  {delivery['duplicate_side_effects']}",
        f"   kills                   {len(kills)} of {delivery['kill_plan']['victim']}, at "
        + ", ".join(
            f"{kill['seconds_into_delivery']:.0f} s ({kill['side_effects_attempted_again']} "
            "attempted again)"
            for kill in kills
        ),
        f"   wall time               {fmt(delivery['wall_seconds'])} s "
        f"(appends took {fmt(delivery['append_seconds'])} s)",
        f"   throughput              {fmt(delivery['events_per_s'])} events/s, "
        f"{fmt(delivery['deliveries_per_s'])} deliveries/s; emulator CPU "
        f"{fmt(delivery['emulator_cpu_ms_per_event'])} ms/event, busy "
        f"{fmt(delivery['emulator_busy'], 2)}",
        "   outcomes (reports)      "
        + "; ".join(
            f"{name}: " + ", ".join(f"{k} {v:,}" for k, v in sorted(counts.items()))
            for name, counts in delivery["outcomes"].items()
        ),
    ]
    for name, dead in delivery["dlq"].items():
        reasons = sorted({e["reason"] for e in dead["letters"] if e["reason"]})
        lines.append(
            f"   DLQ {name:<20}{dead['poison']} poison of {delivery['poison_events']}, "
            f"{len(dead['not_poison'])} other, {dead['with_reason']} with a reason"
        )
        lines.extend(f"      reason: {reason}" for reason in reasons[:3])
    return lines


def redrive_lines(redrive: dict[str, Any]) -> list[str]:
    return [
        "2. fixed handler and redrive",
        f"   moved back              {per_consumer(redrive['moved'])} "
        f"in {fmt(redrive['redrive_seconds'])} s",
        f"   poison handled          {per_consumer(redrive['poison_handled'])}",
        f"   handled (ledger)        {per_consumer(redrive['handled'])}",
        f"   missing                 {per_consumer(redrive['missing'])}",
        "   messages left           "
        + ", ".join(
            f"{name} queue {left['queue']} dlq {left['dlq']}"
            for name, left in redrive["messages_left"].items()
        ),
        f"   drained in              {fmt(redrive['seconds'])} s",
    ]


def guarantee_lines(guarantees: dict[str, Any]) -> list[str]:
    lines = ["guarantees"]
    for name, check in guarantees.items():
        lines.append(f"   {'met   ' if check['met'] else 'FAILED'} {name}: {check['value']}")
    return lines


def print_report(results: dict[str, Any]) -> None:
    lines = [
        "",
        *delivery_lines(results["delivery"]),
        *redrive_lines(results["redrive"]),
        *guarantee_lines(results["guarantees"]),
        "all guarantees met" if results["ok"] else "SOME GUARANTEES FAILED",
        f"run time {fmt(results['run_seconds'])} s: "
        + ", ".join(f"{step} {at:.0f}" for step, at in results["timeline_s"].items()),
    ]
    print("\n".join(lines), flush=True)
