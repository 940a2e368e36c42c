"""The printed table of a run: latency rows, then the stage shares and the concurrent
phase."""

from __future__ import annotations

from typing import Any

from runs import STAGES


def _row(measure: str, p50: Any, p95: Any = "", maximum: Any = "", note: str = "") -> str:
    return f"{measure:<44} {p50!s:>9} {p95!s:>9} {maximum!s:>9}  {note}"


def _latency_row(measure: str, figures: dict[str, Any], note: str = "") -> str:
    if not figures.get("count"):
        return _row(measure, "-", "-", "-", note or "no completed run")
    return _row(measure, figures["p50_ms"], figures["p95_ms"], figures["max_ms"], note)


def print_report(results: dict[str, Any]) -> None:
    machine, sequential = results["machine"], results["sequential"]
    concurrent = results["concurrent"]
    load = ", ".join(f"{value:.2f}" for value in machine["load_average_at_start"])
    print(f"\nanalyses benchmark, {machine['cpus']} CPUs, load at start {load}")
    print(f"portfolio {results['parameters']['portfolio']}")
    print(_row("measure", "p50", "p95", "max", "note"))
    print("-" * 96)
    verdict = "met" if results["met"] else "NOT met"
    print(
        _latency_row(
            "request -> AnalysisCompleted (ms)",
            sequential["request_to_completed"],
            f"{sequential['completed']}/{sequential['runs']} one after another; "
            f"target p95 <= {results['target_p95_seconds']} s: {verdict}",
        )
    )
    print(_latency_row("  request -> first AnalysisProgressed (ms)", sequential["first_progress"]))
    print(_latency_row("  POST answered 202 (ms)", sequential["accepted"]))
    stages = sequential["stages"]
    if stages:
        shares = stages["mean_share_of_worker_time"]
        for stage in STAGES:
            print(
                _latency_row(
                    f"  stage {stage} (ms)",
                    stages["stage_ms"][stage],
                    f"{shares[stage]:.1%} of the worker's time (mean)",
                )
            )
        print(_latency_row("  worker: sum of the stages (ms)", stages["worker_ms"]))
        print(
            _latency_row(
                "  queue + events + storing (ms)",
                stages["overhead_ms"],
                "request -> completed minus the stages",
            )
        )
    print(
        _row(
            f"{concurrent['analyses']} at once: completed",
            concurrent["completed"],
            "",
            "",
            f"{concurrent['failures']} failed; {concurrent['accounts']} accounts",
        )
    )
    print(
        _row(
            "  wall time (s)",
            concurrent["wall_seconds"],
            "",
            "",
            f"{concurrent['throughput_per_minute']} analyses per minute; "
            f"chat runs {results['parameters']['chat_analysis_concurrency']} at once",
        )
    )
    print(_latency_row("  request -> AnalysisCompleted (ms)", concurrent["request_to_completed"]))
    print(_latency_row("  request -> first AnalysisProgressed (ms)", concurrent["first_progress"]))
