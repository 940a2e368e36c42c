"""notifier's OpenAPI document is pinned by the committed ``openapi.json`` (the gateway's
calls are checked against it in tests/contract/gateway/test_downstream_calls.py): a breaking
change fails here unless the snapshot is rewritten on purpose with
``MARKETSCOPE_UPDATE_SNAPSHOTS=1``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from marketscope_notifier.main import create_app
from marketscope_servicekit.openapi_compat import breaking_changes, check_snapshot

SNAPSHOT = Path(__file__).with_name("openapi.json")


def current() -> dict[str, Any]:
    document: dict[str, Any] = create_app().openapi()
    return document


def test_no_breaking_change_against_the_snapshot() -> None:
    assert check_snapshot(current(), SNAPSHOT) == []


def test_the_snapshot_describes_alerts_and_the_inbox() -> None:
    paths = json.loads(SNAPSHOT.read_text())["paths"]
    assert set(paths["/alerts"]) == {"get", "post"}
    assert {"201", "422"} <= set(paths["/alerts"]["post"]["responses"])
    assert set(paths["/alerts/{alert_id}"]) == {"get", "patch", "delete"}
    assert {"404", "409", "422"} <= set(paths["/alerts/{alert_id}"]["patch"]["responses"])
    assert "204" in paths["/alerts/{alert_id}"]["delete"]["responses"]
    assert set(paths["/alerts/{alert_id}/pause"]) == {"post"}
    assert set(paths["/alerts/{alert_id}/resume"]) == {"post"}
    listing = {p["name"] for p in paths["/notifications"]["get"]["parameters"]}
    assert {"limit", "cursor", "unread"} <= listing
    assert set(paths["/notifications/unread-count"]) == {"get"}
    read = paths["/notifications/{notification_id}/read"]["post"]["responses"]
    assert {"204", "404"} <= set(read)
    assert set(paths["/notifications/read-all"]) == {"post"}


def test_the_check_catches_a_removed_path() -> None:
    old = json.loads(SNAPSHOT.read_text())
    new = json.loads(SNAPSHOT.read_text())
    del new["paths"]["/notifications/unread-count"]
    assert breaking_changes(old, new)
