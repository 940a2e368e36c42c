"""The resident memory of every service process of ``marketscope up``, sampled while
the load runs: growth after warm-up is what a leak looks like."""

from __future__ import annotations

import asyncio
import statistics
import time
from dataclasses import dataclass, field

import psutil

from marketscope_platform.topology import SERVICES

SAMPLE_EVERY_S = 5.0


def service_processes(up_pid: int) -> dict[str, psutil.Process]:
    """The services ``marketscope up`` (``up_pid``) started, by the module each runs."""
    found: dict[str, psutil.Process] = {}
    modules = {service.module: name for name, service in SERVICES.items()}
    for child in psutil.Process(up_pid).children(recursive=True):
        try:
            command = child.cmdline()
        except psutil.Error:
            continue
        for module, name in modules.items():
            if "-m" in command and module in command:
                found[name] = child
    missing = sorted(set(SERVICES) - set(found))
    if missing:
        raise RuntimeError(f"no process found for {', '.join(missing)}")
    return found


@dataclass
class RssSamples:
    """(seconds since the soak started, RSS in MiB) per service."""

    by_service: dict[str, list[tuple[float, float]]] = field(default_factory=dict)

    def growth(self, warm_up_s: float) -> dict[str, dict[str, float]]:
        """Per service: the median RSS of the first minute after warm-up, of the last
        minute, and the growth between them in percent."""
        figures: dict[str, dict[str, float]] = {}
        for name, samples in self.by_service.items():
            end = samples[-1][0]
            after = [mib for at, mib in samples if warm_up_s <= at < warm_up_s + 60]
            last = [mib for at, mib in samples if at >= end - 60]
            if not after or not last:
                continue
            start_mib, end_mib = statistics.median(after), statistics.median(last)
            figures[name] = {
                "rss_after_warm_up_mib": round(start_mib, 1),
                "rss_at_end_mib": round(end_mib, 1),
                "peak_mib": round(max(mib for _, mib in samples), 1),
                "growth_percent": round((end_mib - start_mib) / start_mib * 100, 2),
            }
        return figures


async def sample_rss(processes: dict[str, psutil.Process], samples: RssSamples) -> None:
    """Until cancelled: every service's RSS every few seconds."""
    begin = time.perf_counter()
    while True:
        at = time.perf_counter() - begin
        for name, process in processes.items():
            mib = process.memory_info().rss / 2**20
            samples.by_service.setdefault(name, []).append((round(at, 1), round(mib, 2)))
        await asyncio.sleep(SAMPLE_EVERY_S)
