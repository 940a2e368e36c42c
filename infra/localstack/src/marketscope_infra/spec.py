"""The declarative spec of every AWS resource MarketScope needs, generated from the event
catalog and the service topology, and its committed copy ``resources.json``.

    python -m marketscope_infra.spec --write   # regenerate resources.json
    python -m marketscope_infra.spec --check   # exit 1 when resources.json is stale
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from marketscope_events.catalog import CATALOG, Catalog
from marketscope_infra.definitions import (
    dashboard,
    messaging,
    observability,
    scheduling,
    secrets,
    storage,
)
from marketscope_infra.definitions.model import JsonObject, Resource
from marketscope_platform.topology import SERVICES, ServiceInfo

SPEC_FORMAT = 1
RESOURCES_FILE = Path(__file__).resolve().parents[2] / "resources.json"
GENERATED_BY = "python -m marketscope_infra.spec --write"


def build_resources(
    catalog: Catalog = CATALOG, services: Mapping[str, ServiceInfo] = SERVICES
) -> list[Resource]:
    """Every resource, in an order that lets each be made after what it refers to."""
    consumers = messaging.consumers(catalog, services)
    alarms = observability.alarms(services, consumers)
    return [
        *storage.tables(services),
        storage.documents_bucket(),
        *messaging.topics(catalog),
        *messaging.queues(catalog, services),
        *messaging.subscriptions(catalog, services),
        *observability.log_groups(services),
        secrets.shared_secret(),
        *alarms,
        dashboard.dashboard(list(services), consumers, [alarm.name for alarm in alarms]),
        *scheduling.rules(),
    ]


def build_spec(
    catalog: Catalog = CATALOG, services: Mapping[str, ServiceInfo] = SERVICES
) -> JsonObject:
    return {
        "$comment": f"Generated from the event catalog by `{GENERATED_BY}`; do not edit.",
        "format": SPEC_FORMAT,
        "resources": [resource.to_json() for resource in build_resources(catalog, services)],
    }


def render(spec: JsonObject) -> str:
    return json.dumps(spec, indent=2) + "\n"


def is_fresh(path: Path = RESOURCES_FILE) -> bool:
    try:
        return path.read_text(encoding="utf-8") == render(build_spec())
    except FileNotFoundError:
        return False


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m marketscope_infra.spec", description=__doc__.splitlines()[0]
    )
    action = parser.add_mutually_exclusive_group()
    action.add_argument("--write", action="store_true", help="regenerate the spec file")
    action.add_argument("--check", action="store_true", help="exit 1 if the file is stale")
    parser.add_argument("--path", type=Path, default=RESOURCES_FILE, help="the spec file")
    args = parser.parse_args(argv)
    if args.check:
        if is_fresh(args.path):
            return 0
        print(f"{args.path} is stale: run `{GENERATED_BY}`", file=sys.stderr)
        return 1
    if args.write:
        args.path.write_text(render(build_spec()), encoding="utf-8")
        print(f"wrote {args.path}")
        return 0
    sys.stdout.write(render(build_spec()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
