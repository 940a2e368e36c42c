from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from pydantic import BaseModel

from marketscope_servicekit.openapi_compat import breaking_changes, check_snapshot


class Quote(BaseModel):
    symbol: str
    price: float
    source: str
    stale: bool = False


def document() -> dict[str, Any]:
    app = FastAPI()

    @app.get("/quotes/{symbol}", response_model=Quote)
    def quote(symbol: str, interval: str = "1d") -> Quote:
        raise NotImplementedError

    return app.openapi()


def test_identical_documents_have_no_breaking_change() -> None:
    assert breaking_changes(document(), document()) == []


def test_additions_are_not_breaking() -> None:
    new = document()
    new["paths"]["/history/{symbol}"] = copy.deepcopy(new["paths"]["/quotes/{symbol}"])
    new["components"]["schemas"]["Quote"]["properties"]["currency"] = {"type": "string"}
    assert breaking_changes(document(), new) == []


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda d: d["paths"].pop("/quotes/{symbol}"), "/quotes/{symbol}: path removed"),
        (
            lambda d: d["components"]["schemas"]["Quote"]["properties"].pop("source"),
            "source: field removed",
        ),
        (
            lambda d: d["components"]["schemas"]["Quote"]["properties"].update(
                price={"type": "string"}
            ),
            "price: type changed",
        ),
        (
            lambda d: d["paths"]["/quotes/{symbol}"]["get"]["parameters"][1].update(required=True),
            "parameter interval is now required",
        ),
        (
            lambda d: d["paths"]["/quotes/{symbol}"]["get"]["parameters"][1]["schema"].update(
                type="integer"
            ),
            "parameter interval: type narrowed",
        ),
    ],
)
def test_breaking_changes_are_named(mutate: Any, expected: str) -> None:
    new = document()
    mutate(new)
    problems = breaking_changes(document(), new)
    assert any(expected in problem for problem in problems), problems


def test_removed_enum_value_in_a_response_is_breaking() -> None:
    old = document()
    old["components"]["schemas"]["Quote"]["properties"]["source"] = {
        "type": "string",
        "enum": ["replay", "yfinance"],
    }
    new = copy.deepcopy(old)
    new["components"]["schemas"]["Quote"]["properties"]["source"]["enum"] = ["replay"]
    assert breaking_changes(old, new) == [
        "GET /quotes/{symbol} 200.source: enum values removed ['yfinance']"
    ]


def test_snapshot_is_written_on_purpose_and_then_enforced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    snapshot = tmp_path / "openapi.json"
    assert check_snapshot(document(), snapshot) == []
    assert json.loads(snapshot.read_text()) == document()
    narrowed = document()
    narrowed["paths"].pop("/quotes/{symbol}")
    assert check_snapshot(narrowed, snapshot) == ["/quotes/{symbol}: path removed"]
    monkeypatch.setenv("MARKETSCOPE_UPDATE_SNAPSHOTS", "1")
    assert check_snapshot(narrowed, snapshot) == []
    assert "/quotes/{symbol}" not in json.loads(snapshot.read_text())["paths"]
