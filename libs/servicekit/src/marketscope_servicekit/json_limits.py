"""JSON from untrusted callers, parsed with a nesting limit.

The standard parser recurses once per nesting level, so a 2 KB document nested 1,200
levels deep raises ``RecursionError`` (a 500 wherever it escapes). ``loads_untrusted``
measures the nesting first, without recursion, and refuses anything deeper than
``MAX_JSON_DEPTH`` with a ``JsonTooDeep`` (a ``ValueError``) that callers map to 4xx.
"""

from __future__ import annotations

import json
from typing import Any

# No MarketScope document nests anywhere near this; it leaves the parser's recursion
# (about 1,000 frames) far away.
MAX_JSON_DEPTH = 64
_OPENERS = frozenset(b"[{")
_CLOSERS = frozenset(b"]}")
_QUOTE = ord('"')
_BACKSLASH = ord("\\")


class JsonTooDeep(ValueError):
    """The document nests deeper than the limit."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"JSON nests deeper than {limit} levels")
        self.limit = limit


def json_depth(data: bytes | str, *, stop_after: int | None = None) -> int:
    """The deepest nesting of arrays and objects in ``data`` (brackets inside strings do
    not count). Stops counting once ``stop_after`` is exceeded. Malformed input gets a
    best-effort figure; the parser reports what is wrong with it."""
    raw = data.encode() if isinstance(data, str) else data
    depth = deepest = 0
    in_string = escaped = False
    for byte in raw:
        if in_string:
            if escaped:
                escaped = False
            elif byte == _BACKSLASH:
                escaped = True
            elif byte == _QUOTE:
                in_string = False
        elif byte == _QUOTE:
            in_string = True
        elif byte in _OPENERS:
            depth += 1
            if depth > deepest:
                deepest = depth
                if stop_after is not None and deepest > stop_after:
                    return deepest
        elif byte in _CLOSERS:
            depth -= 1
    return deepest


def check_json_depth(data: bytes | str, *, limit: int = MAX_JSON_DEPTH) -> None:
    """Raise ``JsonTooDeep`` when ``data`` nests deeper than ``limit``."""
    if json_depth(data, stop_after=limit) > limit:
        raise JsonTooDeep(limit)


def loads_untrusted(data: bytes | str, *, limit: int = MAX_JSON_DEPTH) -> Any:
    """``json.loads`` that refuses documents nested deeper than ``limit``.

    Raises ``JsonTooDeep`` or ``json.JSONDecodeError``; both are ``ValueError``."""
    check_json_depth(data, limit=limit)
    return json.loads(data)
