"""What the consumers' report files say so far: per consumer, the events handled, the
copies acknowledged as already handled, the rejections with their reasons.

Each incarnation of a consumer writes a file of its own; they are read as they grow. A
killed process can leave half a line at the end of its file: it is never completed, so
only whole lines count.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class ConsumerTally:
    handled: set[str] = field(default_factory=set)  # HANDLED at least once
    acknowledged: set[str] = field(default_factory=set)  # DUPLICATE: handled before
    rejections: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    outcomes: Counter[str] = field(default_factory=Counter)
    ready: set[str] = field(default_factory=set)  # incarnations polling their queue

    @property
    def settled(self) -> set[str]:
        """Events known handled by this consumer (now or before)."""
        return self.handled | self.acknowledged


class ReportReader:
    """Follows report files, each at its own offset."""

    def __init__(self) -> None:
        self.tallies: dict[str, ConsumerTally] = defaultdict(ConsumerTally)
        self._files: dict[Path, tuple[str, int]] = {}  # path -> (consumer, offset)

    def follow(self, consumer: str, path: Path) -> None:
        self._files.setdefault(path, (consumer, 0))

    def read(self) -> None:
        for path, (consumer, offset) in list(self._files.items()):
            try:
                with path.open("rb") as handle:
                    handle.seek(offset)
                    chunk = handle.read()
            except FileNotFoundError:
                continue
            complete = chunk.rfind(b"\n") + 1
            for line in chunk[:complete].splitlines():
                self._take(self.tallies[consumer], json.loads(line))
            self._files[path] = (consumer, offset + complete)

    @staticmethod
    def _take(tally: ConsumerTally, line: dict[str, object]) -> None:
        if "ready" in line:
            tally.ready.add(str(line["ready"]))
            return
        outcome = line.get("outcome")
        if outcome is None:
            return
        tally.outcomes[str(outcome)] += 1
        event_id = line.get("event_id")
        if not isinstance(event_id, str):
            return
        if outcome == "handled":
            tally.handled.add(event_id)
        elif outcome == "duplicate":
            tally.acknowledged.add(event_id)
        elif outcome == "rejected":
            tally.rejections[event_id].append(str(line.get("reason")))
