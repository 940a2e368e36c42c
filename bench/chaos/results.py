"""The results document written to bench/results/chaos.json."""

from __future__ import annotations

import json
import os
import platform
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import Any

from delivery import DeliveryResult
from params import CONSUMERS, Params
from redrive import RedriveResult
from verdict import Check
from wiring import EmulatorInfo

from marketscope_events.subscriptions import DEFAULT_MAX_RECEIVE_COUNT


def machine_info(emulator: EmulatorInfo) -> dict[str, Any]:
    return {
        "cpu_count": os.cpu_count(),
        "load_average_at_start": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "emulator": emulator.as_dict(),
    }


def assemble(
    params: Params,
    machine: dict[str, Any],
    started: datetime,
    redrive_policy: str | None,
    delivery: DeliveryResult,
    delivered: dict[str, Any],
    redrive: RedriveResult,
    redriven: dict[str, Any],
    checks: list[Check],
) -> dict[str, Any]:
    normal_deliveries = sum(delivered["handled"].values())
    return {
        "benchmark": "chaos",
        "timestamp": started.isoformat(timespec="seconds"),
        "machine": machine,
        "parameters": {
            **asdict(params),
            "poison_count": params.poison_count,
            "consumers": [{"name": name, "subscribed_as": svc} for name, svc in CONSUMERS],
            "max_receive_count": DEFAULT_MAX_RECEIVE_COUNT,
            "redrive_policy": redrive_policy,
        },
        "ok": all(check.met for check in checks),
        "guarantees": {check.name: check.as_dict() for check in checks},
        "delivery": {
            "what": "append+outbox -> relay -> SNS -> 3 queues -> 3 consumer processes "
            "(first handler: poison refused), one SIGKILLed and restarted on the kill plan",
            **delivered,
            "wall_seconds": delivery.seconds,
            "events_per_s": delivery.appended / delivery.seconds if delivery.seconds else None,
            "deliveries_per_s": normal_deliveries / delivery.seconds if delivery.seconds else None,
            **delivery.as_dict(),
        },
        "redrive": {
            "what": "consumers restarted with the fixed handler; every DLQ moved back with "
            "marketscope_cli.dlq.redrive (what `marketscope dlq redrive` calls)",
            **redriven,
            **redrive.as_dict(),
        },
    }


def write_results(results: dict[str, Any], output: Path) -> None:
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(results, indent=2) + "\n")
