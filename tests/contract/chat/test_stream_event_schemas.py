"""The analyst's ``text/event-stream`` events, pinned by a committed JSON Schema: the schema
generated from the event models must equal the committed one
(``MARKETSCOPE_UPDATE_SNAPSHOTS=1`` rewrites it on purpose). The frames a real turn sends
through the gateway are validated against it in ``test_chat_through_gateway.py``."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import jsonschema

from marketscope_chat.stream_events import EVENT_MODELS, json_schema
from marketscope_servicekit.openapi_compat import UPDATE_ENV

SCHEMA_PATH = Path(__file__).resolve().parent / "stream-events.json"


def committed() -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(SCHEMA_PATH.read_text())
    return schema


def test_committed_schema_matches_the_event_models() -> None:
    generated = json_schema()
    if os.environ.get(UPDATE_ENV) == "1":
        SCHEMA_PATH.write_text(json.dumps(generated, indent=2, sort_keys=True) + "\n")
    assert generated == committed(), (
        f"the stream events changed: review the change for clients, then rerun with {UPDATE_ENV}=1"
    )


def test_the_schema_names_every_event_type_and_refuses_unknown_ones() -> None:
    schema = committed()
    jsonschema.Draft202012Validator.check_schema(schema)
    types = set(schema["discriminator"]["mapping"])
    assert types == {model.model_fields["type"].default for model in EVENT_MODELS}
    validator = jsonschema.Draft202012Validator(schema)
    assert not validator.is_valid({"type": "message.exploded", "message_id": "m"})
    assert not validator.is_valid(
        {"type": "message.delta", "conversation_id": None, "message_id": "m"}  # no text
    )
    assert validator.is_valid(
        {"type": "message.delta", "conversation_id": None, "message_id": "m", "text": "hi"}
    )
