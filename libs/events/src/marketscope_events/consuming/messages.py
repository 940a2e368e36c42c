"""Turning an SQS message body into an envelope, raw or wrapped by SNS."""

from __future__ import annotations

import json
from typing import Any

from marketscope_events.envelope import Envelope
from marketscope_events.errors import MalformedEnvelopeError


def envelope_from_body(body: str) -> Envelope:
    """Raw delivery puts the envelope in the body; otherwise SNS wraps it in a
    notification whose ``Message`` holds it. Both are accepted."""
    try:
        document: Any = json.loads(body)
    except json.JSONDecodeError as exc:
        raise MalformedEnvelopeError(f"body is not JSON: {exc.msg}") from exc
    if isinstance(document, dict) and document.get("Type") == "Notification":
        message = document.get("Message")
        if not isinstance(message, str):
            raise MalformedEnvelopeError("SNS notification without a Message")
        return Envelope.from_json(message)
    return Envelope.from_document(document)
