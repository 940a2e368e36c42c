"""CPU the emulator spent during a phase (Linux /proc), and how busy that kept it."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any


def process_cpu_seconds(pid: int) -> float | None:
    """User + system CPU of ``pid`` and its descendants; None where /proc cannot tell."""
    try:
        ticks = os.sysconf("SC_CLK_TCK")
        total, pending = 0.0, [pid]
        while pending:
            current = pending.pop()
            stat = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(stat[11]) + int(stat[12])) / ticks
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
            pending.extend(int(child) for child in children)
        return total
    except (OSError, ValueError, IndexError):
        return None


@dataclass
class EmulatorUsage:
    pid: int | None
    started_cpu: float | None = None
    started_at: float = 0.0
    cpu_s: float | None = None
    wall_s: float = 0.0

    def start(self) -> None:
        self.started_at = time.perf_counter()
        self.started_cpu = None if self.pid is None else process_cpu_seconds(self.pid)

    def stop(self) -> None:
        self.wall_s = time.perf_counter() - self.started_at
        end = None if self.pid is None else process_cpu_seconds(self.pid)
        if end is not None and self.started_cpu is not None:
            self.cpu_s = end - self.started_cpu

    def as_dict(self, events: int) -> dict[str, Any]:
        cpu = self.cpu_s
        return {
            "emulator_cpu_s": cpu,
            "emulator_busy": None if cpu is None or not self.wall_s else cpu / self.wall_s,
            "emulator_cpu_ms_per_event": None if cpu is None or not events else cpu * 1000 / events,
        }
