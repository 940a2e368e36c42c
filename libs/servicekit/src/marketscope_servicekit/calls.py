"""What every caller of another service needs to build a request and read its answer:
path segments that name nothing but themselves, query parameters, and the ``detail`` of
a problem+json answer."""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import quote

import httpx

Params = Mapping[str, str | int | float | bool | None]
# Dot segments are unreserved, so ``quote`` keeps them; a client would resolve them.
_DOT_SEGMENTS = {".": "%2E", "..": "%2E%2E"}


def segment(value: str) -> str:
    """``value`` as one path segment: ``/``, ``?``, ``#``, ``%``, line breaks and
    non-ASCII percent-encoded, and ``.``/``..`` too, so it names nothing but itself."""
    encoded = quote(value, safe="")
    return _DOT_SEGMENTS.get(encoded, encoded)


def problem_detail(response: httpx.Response) -> str:
    """The ``detail`` (else ``title``) of a problem answer, or its status line."""
    try:
        body = response.json()
    except ValueError:
        return response.reason_phrase or f"HTTP {response.status_code}"
    if isinstance(body, dict):
        return str(body.get("detail") or body.get("title") or f"HTTP {response.status_code}")
    return f"HTTP {response.status_code}"
