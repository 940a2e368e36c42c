from __future__ import annotations

import json
import shutil
from pathlib import Path

import jsonschema
import yaml

from marketscope_events import CATALOG
from marketscope_events.schemas.cli import DEFAULT_DIR, generated_files, stale_files

from ..helpers import quote_event


def test_committed_schemas_and_asyncapi_are_fresh() -> None:
    assert stale_files(DEFAULT_DIR) == [], "run: uv run marketscope-events-schemas"


def test_a_changed_model_makes_the_files_stale(tmp_path: Path) -> None:
    shutil.copytree(DEFAULT_DIR / "schemas", tmp_path / "schemas")
    shutil.copy(DEFAULT_DIR / "asyncapi.yaml", tmp_path / "asyncapi.yaml")
    assert stale_files(tmp_path) == []
    target = tmp_path / "schemas" / "marketscope.market-data.QuoteUpdated.v2.json"
    schema = json.loads(target.read_text())
    del schema["properties"]["provider"]
    target.write_text(json.dumps(schema))
    (tmp_path / "schemas" / "marketscope.old.Gone.v1.json").write_text("{}")
    assert stale_files(tmp_path) == [
        "schemas/marketscope.market-data.QuoteUpdated.v2.json",
        "schemas/marketscope.old.Gone.v1.json",
    ]


def test_published_data_validates_against_the_committed_schema() -> None:
    schema = json.loads(
        (DEFAULT_DIR / "schemas" / "marketscope.market-data.QuoteUpdated.v2.json").read_text()
    )
    event = quote_event()
    jsonschema.validate(event.data, schema)
    envelope_schema = json.loads((DEFAULT_DIR / "schemas" / "envelope.json").read_text())
    jsonschema.validate(json.loads(event.to_json()), envelope_schema)


def test_asyncapi_document_covers_the_catalog() -> None:
    document = yaml.safe_load(generated_files(CATALOG)["asyncapi.yaml"])
    assert document["asyncapi"] == "3.0.0"
    assert set(document["channels"]) == {spec.name for spec in CATALOG}
    assert document["channels"]["QuoteUpdated"]["address"] == "marketscope-quote-updated"
    operations = document["operations"]
    assert operations["MarketDataSendQuoteUpdated"]["action"] == "send"
    receivers = {name for name, op in operations.items() if op["action"] == "receive"}
    expected = {
        f"{''.join(p.capitalize() for p in s.split('-'))}Receive{spec.name}"
        for spec in CATALOG
        for s in spec.subscribers
    }
    assert receivers == expected
    assert set(document["channels"]["QuoteUpdated"]["messages"]) == {
        "QuoteUpdatedV1",
        "QuoteUpdatedV2",
    }
