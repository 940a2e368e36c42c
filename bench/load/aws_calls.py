"""The AWS requests a phase caused, by calling service and operation, read from the
emulator's access log: gunicorn writes one line per request with its User-Agent (each
service's clients say ``app/marketscope-<service>``) and its ``X-Amz-Target``.

Requests without a target are the query and REST protocols: SNS (``POST /``), X-Ray
(``POST /TraceSegments``) and S3 (a bucket path); they are named by path.
"""

from __future__ import annotations

import re
import shlex
from collections import Counter
from pathlib import Path
from typing import Any

SEPARATOR = "\t"
LINE_FORMAT = SEPARATOR.join(["%(a)s", "%({x-amz-target}i)s", "%(m)s", "%(U)s"])
APP_ID = re.compile(r"\bapp/marketscope-([a-z-]+)")


def access_log_environment(path: Path) -> dict[str, str]:
    """The variable that makes the emulator's gunicorn write the access log to ``path``."""
    arguments = ["--access-logfile", str(path), "--access-logformat", LINE_FORMAT]
    return {"GUNICORN_CMD_ARGS": shlex.join(arguments)}


class AccessLog:
    """Reads the log from where the last phase ended."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._offset = 0

    def mark(self) -> None:
        self._offset = self.path.stat().st_size if self.path.exists() else 0

    def since_mark(self) -> Counter[tuple[str, str]]:
        counted: Counter[tuple[str, str]] = Counter()
        if not self.path.exists():
            return counted
        with self.path.open("r", errors="replace") as log:
            log.seek(self._offset)
            for line in log:
                counted[_classify(line.rstrip("\n"))] += 1
        return counted


def _classify(line: str) -> tuple[str, str]:
    parts = line.split(SEPARATOR)
    if len(parts) != 4:
        return "unknown", "unparsed line"
    agent, target, method, path = parts
    found = APP_ID.search(agent)
    caller = found.group(1) if found else "other"
    if target and target != "-":
        return caller, target.split(".")[-1]
    if path == "/TraceSegments":
        return caller, "PutTraceSegments"
    if path == "/":
        return caller, f"{method} / (SNS)"
    if path.startswith("/moto-api"):
        return caller, "moto-api"
    return caller, f"S3 {method}"


def aws_call_figures(counted: Counter[tuple[str, str]], requests: int) -> dict[str, Any]:
    """Per calling service: its AWS requests by operation, and per answered REST request."""
    by_caller: dict[str, dict[str, Any]] = {}
    for (caller, operation), count in counted.most_common():
        entry = by_caller.setdefault(caller, {"total": 0, "operations": {}})
        entry["total"] += count
        entry["operations"][operation] = count
    for entry in by_caller.values():
        entry["per_rest_request"] = round(entry["total"] / requests, 2) if requests else None
    total = sum(counted.values())
    return {
        "total": total,
        "per_rest_request": round(total / requests, 2) if requests else None,
        "by_caller": dict(sorted(by_caller.items(), key=lambda item: -item[1]["total"])),
    }
