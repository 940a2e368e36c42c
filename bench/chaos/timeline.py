"""When each step of a run ended, in seconds from the start: where the run's time went."""

from __future__ import annotations

import time


class Timeline:
    def __init__(self) -> None:
        self._start = time.perf_counter()
        self.marks: dict[str, float] = {}

    def mark(self, step: str) -> None:
        self.marks[step] = round(time.perf_counter() - self._start, 2)
