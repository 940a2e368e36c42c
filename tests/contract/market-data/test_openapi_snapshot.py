"""market-data's OpenAPI document is pinned by the committed ``openapi.json``: a breaking
change (removed path, field or enum value, narrowed type) fails here unless the snapshot
is rewritten on purpose with ``MARKETSCOPE_UPDATE_SNAPSHOTS=1``."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from marketscope_market_data.main import create_app
from marketscope_servicekit.openapi_compat import breaking_changes, check_snapshot

SNAPSHOT = Path(__file__).with_name("openapi.json")


@pytest.fixture(scope="module")
def current() -> dict[str, Any]:
    return create_app().openapi()


def test_no_breaking_change_against_the_snapshot(current: dict[str, Any]):
    assert check_snapshot(current, SNAPSHOT) == []


def test_the_gateway_paths_are_documented(current: dict[str, Any]):
    paths = current["paths"]
    for path in (
        "/quotes/{symbol}",
        "/quotes",
        "/history/{symbol}",
        "/indicators/{symbol}",
        "/risk",
        "/profile/{symbol}",
        "/watchlists/{owner}",
    ):
        assert path in paths
    assert set(paths["/watchlists/{owner}"]) == {"get", "put"}


def test_breaking_changes_are_detected(current: dict[str, Any]):
    removed_field = copy.deepcopy(current)
    del removed_field["components"]["schemas"]["QuoteResponse"]["properties"]["stale"]
    changed_type = copy.deepcopy(current)
    changed_type["components"]["schemas"]["QuoteResponse"]["properties"]["price"] = {
        "type": "string"
    }
    narrowed = copy.deepcopy(current)
    for parameter in narrowed["paths"]["/history/{symbol}"]["get"]["parameters"]:
        if parameter["name"] == "start":
            parameter["schema"] = {"type": "integer"}
    removed_path = copy.deepcopy(current)
    del removed_path["paths"]["/risk"]
    fewer_intervals = copy.deepcopy(current)
    interval = fewer_intervals["components"]["schemas"]["HistoryResponse"]["properties"]["interval"]
    assert interval["enum"] == ["1d", "1wk", "1mo"]
    interval["enum"] = ["1d", "1wk"]

    assert any("stale: field removed" in p for p in breaking_changes(current, removed_field))
    assert any(".price: type changed" in p for p in breaking_changes(current, changed_type))
    assert any("start: type narrowed" in p for p in breaking_changes(current, narrowed))
    assert any("/risk: path removed" in p for p in breaking_changes(current, removed_path))
    assert any("enum values removed" in p for p in breaking_changes(current, fewer_intervals))
