"""``marketscope-events-schemas [--check] [DIR]``: write or verify the generated files."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from marketscope_events.catalog import CATALOG, Catalog
from marketscope_events.schemas.asyncapi import render_asyncapi
from marketscope_events.schemas.jsonschema import render_json_schemas

DEFAULT_DIR = Path(__file__).resolve().parents[3]  # libs/events


def generated_files(catalog: Catalog) -> dict[str, str]:
    files = {f"schemas/{name}": text for name, text in render_json_schemas(catalog).items()}
    files["asyncapi.yaml"] = render_asyncapi(catalog)
    return files


def stale_files(root: Path, catalog: Catalog = CATALOG) -> list[str]:
    """Generated files that are missing or differ from what the catalog renders."""
    expected = generated_files(catalog)
    stale = [
        name
        for name, text in expected.items()
        if not (root / name).is_file() or (root / name).read_text() != text
    ]
    committed = {f"schemas/{p.name}" for p in (root / "schemas").glob("*.json")}
    stale.extend(sorted(committed - expected.keys()))
    return stale


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail if files are stale")
    parser.add_argument("root", nargs="?", type=Path, default=DEFAULT_DIR)
    args = parser.parse_args(argv)
    root: Path = args.root
    if args.check:
        stale = stale_files(root)
        for name in stale:
            print(f"stale: {name}", file=sys.stderr)
        return 1 if stale else 0
    (root / "schemas").mkdir(exist_ok=True)
    for old in (root / "schemas").glob("*.json"):
        old.unlink()
    for name, text in generated_files(CATALOG).items():
        (root / name).write_text(text)
        print(f"wrote {name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
