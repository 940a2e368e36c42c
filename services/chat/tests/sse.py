"""Reading ``text/event-stream`` bodies in tests: frames as (event, data) pairs."""

from __future__ import annotations

import json
from typing import Any


def parse_sse(body: str) -> list[tuple[str, Any]]:
    frames: list[tuple[str, Any]] = []
    for block in body.split("\n\n"):
        event, data = "message", []
        for line in block.splitlines():
            if line.startswith("event:"):
                event = line[6:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].strip())
        if data:
            text = "\n".join(data)
            frames.append((event, text if text == "[DONE]" else json.loads(text)))
    return frames
