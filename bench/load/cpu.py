"""Who spent the CPU in a phase: every service, the emulator (its gunicorn processes)
and this load client, in CPU seconds and per answered request. On two cores, a phase
whose total comes near 2 CPU-seconds per second is one where requests wait for a core.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

import psutil
from memory import service_processes

EMULATOR_MARKERS = ("gunicorn", "moto", "marketscope_emulator")


def stack_processes(up_pid: int) -> dict[str, list[psutil.Process]]:
    """Per part: its processes (the emulator's master and workers together)."""
    groups = {name: [process] for name, process in service_processes(up_pid).items()}
    emulator = []
    for child in psutil.Process(up_pid).children(recursive=True):
        try:
            command = " ".join(child.cmdline())
        except psutil.Error:
            continue
        if any(marker in command for marker in EMULATOR_MARKERS):
            emulator.append(child)
    groups["emulator"] = emulator
    groups["load client"] = [psutil.Process(os.getpid())]
    return groups


def cpu_seconds(groups: Mapping[str, list[psutil.Process]]) -> dict[str, float]:
    """User plus system CPU seconds each part has used so far."""
    used: dict[str, float] = {}
    for name, processes in groups.items():
        total = 0.0
        for process in processes:
            try:
                times = process.cpu_times()
            except psutil.Error:
                continue
            total += times.user + times.system
        used[name] = total
    return used


def cpu_figures(
    before: Mapping[str, float], after: Mapping[str, float], *, seconds: float, requests: int
) -> dict[str, object]:
    """CPU seconds, cores busy and ms per answered request, per part and in all, over
    ``seconds`` of wall time (the phase's sending and the answers it waited for)."""
    parts: dict[str, dict[str, float]] = {}
    for name in after:
        spent = after[name] - before.get(name, 0.0)
        parts[name] = {
            "cpu_s": round(spent, 2),
            "cores": round(spent / seconds, 2),
            "ms_per_request": round(spent * 1000 / requests, 2) if requests else 0.0,
        }
    total = sum(part["cpu_s"] for part in parts.values())
    return {
        "wall_s": round(seconds, 1),
        "cores_available": psutil.cpu_count(),
        "cores_busy": round(total / seconds, 2),
        "by_part": dict(sorted(parts.items(), key=lambda item: -item[1]["cpu_s"])),
    }
