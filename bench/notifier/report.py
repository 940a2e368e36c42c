"""The printed table of a run: the evaluation rounds, the latency and its parts, the
webhook deliveries."""

from __future__ import annotations

from typing import Any


def _row(measure: str, *values: Any, note: str = "") -> str:
    cells = "".join(f"{value!s:>10}" for value in values)
    return f"{measure:<40}{cells}  {note}"


def _latency_row(measure: str, figures: dict[str, Any], note: str = "") -> str:
    if not figures.get("count"):
        return _row(measure, "-", "-", "-", "-", note=note or "no sample")
    keys = ("p50_ms", "p95_ms", "p99_ms", "max_ms")
    return _row(measure, *(figures[key] for key in keys), note=note)


def _evaluation(evaluation: dict[str, Any]) -> None:
    seeding = evaluation["seeding"]
    print(
        f"\nevaluation: {evaluation['alerts']} alerts over {evaluation['symbols']} symbols "
        f"({evaluation['alerts_per_symbol']} each), {evaluation['tables']} tables; set in "
        f"{seeding['seconds']} s ({seeding['requests']} requests), "
        f"{seeding['primed_by_first_price']} primed by the first price"
    )
    print(_row("round (path)", "quotes/s", "alerts/s", "fired", "req/quote", note="emulator"))
    print("-" * 96)
    for result in evaluation["rounds"]:
        busy = result.get("emulator_busy")
        cpu = result.get("emulator_cpu_ms_per_quote")
        print(
            _row(
                f"{result['round']} ({result['path']})",
                result["quotes_per_second"],
                result["alerts_evaluated_per_second"],
                result["alerts_fired"],
                result["requests_per_quote"],
                note=f"{cpu} ms CPU per quote, busy {busy}",
            )
        )


def _latency(latency: dict[str, Any]) -> None:
    verdict = "met" if latency["met"] else "NOT met"
    print(f"\nlatency: {latency['samples']} samples on {latency['symbol']}, one at a time")
    print(_row("measure (ms)", "p50", "p95", "p99", "max"))
    print("-" * 96)
    print(
        _latency_row(
            "published -> on the owner's socket",
            latency["published_to_socket"],
            f"target p99 <= {latency['target_p99_ms']:g} ms: {verdict}",
        )
    )
    print(_latency_row("  published -> alert fired", latency["published_to_fired"]))
    print(
        _latency_row(
            "  fired -> off the gateway's queue",
            latency["notification_to_gateway_queue"],
            "append, inbox, relay, SNS, SQS",
        )
    )
    print(_latency_row("  gateway -> on the socket", latency["gateway_to_socket"]))


def _webhooks(webhooks: dict[str, Any]) -> None:
    print(f"\nwebhooks: {webhooks['path']}, {webhooks['payload_bytes']} byte bodies")
    print(
        _row(
            "concurrency", "deliv./s", "p50 ms", "p95 ms", "verified", note="received; plain httpx"
        )
    )
    print("-" * 96)
    for level in webhooks["levels"]:
        delivery = level["delivery"]
        print(
            _row(
                str(level["concurrency"]),
                level["deliveries_per_second"],
                delivery.get("p50_ms", "-"),
                delivery.get("p95_ms", "-"),
                level["signatures_verified"],
                note=f"{level['received']}/{level['deliveries']}; "
                f"{level['plain_httpx_posts_per_second']} POSTs/s",
            )
        )


def print_report(results: dict[str, Any]) -> None:
    machine = results["machine"]
    load = ", ".join(f"{value:.2f}" for value in machine["load_average_at_start"])
    print(f"\nnotifier benchmark, {machine['cpus']} CPUs, load at start {load}")
    if "evaluation" in results:
        _evaluation(results["evaluation"])
    if "latency" in results:
        _latency(results["latency"])
    if "webhooks" in results:
        _webhooks(results["webhooks"])
