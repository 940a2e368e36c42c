"""What every caller of another service needs to build a request and read its answer:
path segments that name nothing but themselves, query parameters, the ``detail`` of a
problem+json answer, and how long an idle connection is kept.

A service keeps an idle keep-alive connection open for `SERVER_KEEP_ALIVE_SECONDS`; its
callers' pools drop theirs after `CALLER_KEEP_ALIVE_SECONDS`, well before. With equal
timeouts (uvicorn's and httpx's defaults are both 5 s) a caller can send a request on a
connection in the very instant the service closes it: a POST lost that way cannot be
sent again safely, and its caller sees the service as unreachable."""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import quote

import httpx

Params = Mapping[str, str | int | float | bool | None]
# Dot segments are unreserved, so ``quote`` keeps them; a client would resolve them.
_DOT_SEGMENTS = {".": "%2E", "..": "%2E%2E"}
SERVER_KEEP_ALIVE_SECONDS = 75
CALLER_KEEP_ALIVE_SECONDS = 30.0


def caller_limits(*, max_connections: int = 100, max_keepalive: int = 20) -> httpx.Limits:
    """A caller's pool limits: idle connections dropped before the service drops them."""
    return httpx.Limits(
        max_connections=max_connections,
        max_keepalive_connections=max_keepalive,
        keepalive_expiry=CALLER_KEEP_ALIVE_SECONDS,
    )


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
