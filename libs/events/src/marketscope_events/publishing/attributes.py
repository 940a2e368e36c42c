"""SNS/SQS message attributes that travel with every envelope (strings only: binary
attributes break SNS raw delivery on the emulator)."""

from __future__ import annotations

from typing import Any

from marketscope_events.envelope import Envelope
from marketscope_events.tracing import xray_trace_header


def message_attributes(envelope: Envelope) -> dict[str, Any]:
    attributes: dict[str, Any] = {"type": {"DataType": "String", "StringValue": envelope.type}}
    if envelope.traceparent:
        attributes["traceparent"] = {"DataType": "String", "StringValue": envelope.traceparent}
        attributes["X-Amzn-Trace-Id"] = {
            "DataType": "String",
            "StringValue": xray_trace_header(envelope.traceparent),
        }
    return attributes
