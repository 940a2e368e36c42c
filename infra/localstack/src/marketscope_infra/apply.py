"""Make every resource of resources.json exist: create what is missing, bring cheap drift
back in line (queue attributes and policies, subscription attributes, TTL, bucket
protections, retention, alarms, dashboard, rule targets), never delete. Running it again
changes nothing.

One line per resource: ``created <kind> <name>`` or ``exists  <kind> <name>``, the latter
followed by ``(updated A, B)`` when drifted attributes were put back; a note in parentheses
says what was deliberately left off.

Standard library and boto3 only, so that LocalStack's own Python can run this file by path
as its ready.d hook:

    python -m marketscope_infra.apply [--endpoint URL] [--region R] [--spec PATH]
    python3 .../src/marketscope_infra/apply.py --endpoint http://localhost:4566
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

if not __package__:
    # Run by path (the ready.d hook): import the rest of this package from src/.
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from botocore.exceptions import BotoCoreError, ClientError

from marketscope_infra.appliers import (
    buckets,
    messaging,
    observability,
    scheduling,
    secrets,
    storage,
)
from marketscope_infra.appliers.context import (
    Clients,
    Outcome,
    ProvisioningError,
    Resource,
    substitute,
)

__all__ = [
    "APPLIERS",
    "Clients",
    "ProvisioningError",
    "StepCallback",
    "StepResult",
    "apply",
    "load_spec",
    "main",
]

SPEC_FORMAT = 1
DEFAULT_SPEC = Path(__file__).resolve().parents[2] / "resources.json"
EMBEDDED_ENDPOINT = "http://127.0.0.1:4566"

Applier = Callable[[Clients, Resource], Outcome]
StepCallback = Callable[[int, int, str], None]

APPLIERS: Mapping[str, Applier] = {
    "table": storage.apply_table,
    "bucket": buckets.apply_bucket,
    "topic": messaging.apply_topic,
    "queue": messaging.apply_queue,
    "subscription": messaging.apply_subscription,
    "log-group": observability.apply_log_group,
    "secret": secrets.apply_secret,
    "alarm": observability.apply_alarm,
    "dashboard": observability.apply_dashboard,
    "rule": scheduling.apply_rule,
}


@dataclass(frozen=True)
class StepResult:
    kind: str
    name: str
    outcome: Outcome

    @property
    def line(self) -> str:
        verb = "created" if self.outcome.created else "exists"
        line = f"{verb:<7} {self.kind} {self.name}"
        if self.outcome.updated:
            line += f" (updated {', '.join(self.outcome.updated)})"
        for note in self.outcome.notes:
            line += f" ({note})"
        return line


def load_spec(path: Path = DEFAULT_SPEC) -> dict[str, Any]:
    spec: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    if spec.get("format") != SPEC_FORMAT:
        raise ProvisioningError("spec", str(path), f"unsupported format {spec.get('format')!r}")
    return spec


def apply(
    spec: Mapping[str, Any], clients: Clients, *, on_step: StepCallback | None = None
) -> list[StepResult]:
    """Apply every resource in order. ``on_step(done, total, line)`` is called after each
    one (``done`` counts from 1), e.g. to advance a progress bar."""
    resources: list[Resource] = list(spec["resources"])
    unknown = sorted({r["kind"] for r in resources} - set(APPLIERS))
    if unknown:
        raise ProvisioningError("spec", "resources", f"unknown kinds {unknown}")
    placeholders = clients.placeholders()
    results: list[StepResult] = []
    for index, resource in enumerate(resources, start=1):
        kind, name = resource["kind"], resource["name"]
        try:
            outcome = APPLIERS[kind](clients, substitute(resource, placeholders))
        except (ClientError, BotoCoreError) as exc:
            raise ProvisioningError(kind, name, str(exc)) from exc
        results.append(StepResult(kind, name, outcome))
        if on_step is not None:
            on_step(index, len(resources), results[-1].line)
    return results


def resolve_endpoint(flag: str | None) -> str | None:
    """The flag, else ``AWS_ENDPOINT_URL``, else the embedded emulator; empty means AWS."""
    if flag is None:
        flag = os.environ.get("AWS_ENDPOINT_URL", EMBEDDED_ENDPOINT)
    return flag or None


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m marketscope_infra.apply",
        description="Create the MarketScope AWS resources of resources.json (idempotent).",
    )
    parser.add_argument(
        "--endpoint",
        help="AWS endpoint URL; '' for real AWS "
        f"(default: $AWS_ENDPOINT_URL, else {EMBEDDED_ENDPOINT})",
    )
    parser.add_argument(
        "--region",
        default=os.environ.get("AWS_DEFAULT_REGION", "us-east-1"),
        help="AWS region (default: $AWS_DEFAULT_REGION, else us-east-1)",
    )
    parser.add_argument("--spec", type=Path, default=DEFAULT_SPEC, help="resources.json")
    args = parser.parse_args(argv)
    clients = Clients(resolve_endpoint(args.endpoint), args.region)
    try:
        apply(load_spec(args.spec), clients, on_step=lambda _i, _n, line: print(line, flush=True))
    except (ProvisioningError, ClientError, BotoCoreError) as exc:
        print(f"failed  {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
