"""chat's OpenAPI document is pinned by the committed ``openapi.json`` (the gateway's calls
are checked against it in tests/contract/gateway/test_downstream_calls.py): a breaking
change fails here unless the snapshot is rewritten on purpose with
``MARKETSCOPE_UPDATE_SNAPSHOTS=1``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from marketscope_chat.main import create_app
from marketscope_servicekit.openapi_compat import breaking_changes, check_snapshot

SNAPSHOT = Path(__file__).with_name("openapi.json")


def current() -> dict[str, Any]:
    document: dict[str, Any] = create_app().openapi()
    return document


def test_no_breaking_change_against_the_snapshot() -> None:
    assert check_snapshot(current(), SNAPSHOT) == []


def test_the_snapshot_describes_conversations_usage_and_the_openai_door() -> None:
    paths = json.loads(SNAPSHOT.read_text())["paths"]
    assert set(paths["/conversations"]) == {"get", "post"}
    assert set(paths["/conversations/{conversation_id}"]) == {"get", "delete"}
    post = paths["/conversations/{conversation_id}/messages"]["post"]
    assert set(post["responses"]["200"]["content"]) == {"text/event-stream", "application/json"}
    assert {"404", "409", "429"} <= set(post["responses"])
    assert set(paths["/openai/v1/chat/completions"]) == {"post"}
    assert set(paths["/openai/v1/models"]) == {"get"}
    assert set(paths["/usage"]) == {"get"}


def test_the_check_catches_a_removed_path() -> None:
    old = json.loads(SNAPSHOT.read_text())
    new = json.loads(SNAPSHOT.read_text())
    del new["paths"]["/usage"]
    assert breaking_changes(old, new)
