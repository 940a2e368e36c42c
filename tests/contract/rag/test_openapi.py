"""The rag service's OpenAPI document is pinned: consumers (the gateway, chat's tools)
are written against the committed snapshot, and a breaking change fails here.
``MARKETSCOPE_UPDATE_SNAPSHOTS=1`` rewrites the snapshot on purpose."""

from __future__ import annotations

import json
from pathlib import Path

from marketscope_rag.main import create_app
from marketscope_servicekit.openapi_compat import breaking_changes, check_snapshot

SNAPSHOT = Path(__file__).parent / "openapi.json"


def current() -> dict:
    return create_app().openapi()


def test_no_breaking_change_against_the_snapshot() -> None:
    assert check_snapshot(current(), SNAPSHOT) == []


def test_the_snapshot_describes_the_documents_and_search_api() -> None:
    snapshot = json.loads(SNAPSHOT.read_text())
    paths = snapshot["paths"]
    assert set(paths["/documents"]) == {"get", "post"}
    assert set(paths["/documents/{document_id}"]) == {"get", "put", "delete"}
    assert set(paths["/search"]) == {"post"}
    upload = paths["/documents"]["post"]
    assert set(upload["responses"]) >= {"200", "202", "401", "413", "415"}
    assert "multipart/form-data" in upload["requestBody"]["content"]
    hit = snapshot["components"]["schemas"]["SearchHit"]["properties"]
    assert {"citation", "score", "snippet"} <= set(hit)
    citation = snapshot["components"]["schemas"]["Citation"]["properties"]
    assert {"document_id", "filename", "version_id", "chunk_index", "start", "end"} <= set(citation)


def test_the_check_catches_a_removed_response_field() -> None:
    old = json.loads(SNAPSHOT.read_text())
    new = json.loads(SNAPSHOT.read_text())
    del new["components"]["schemas"]["Citation"]["properties"]["version_id"]
    problems = breaking_changes(old, new)
    assert any("version_id: field removed" in problem for problem in problems)
