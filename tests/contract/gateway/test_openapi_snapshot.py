"""The gateway's own OpenAPI document, pinned: a breaking change for its clients (a removed
path or field, a narrowed type, a new required parameter) fails unless the snapshot is
rewritten on purpose with ``MARKETSCOPE_UPDATE_SNAPSHOTS=1``."""

from __future__ import annotations

from pathlib import Path

from marketscope_gateway.main import create_app
from marketscope_servicekit.openapi_compat import check_snapshot

SNAPSHOT = Path(__file__).resolve().parent / "openapi.json"


def test_openapi_has_no_breaking_change() -> None:
    current = create_app().openapi()
    assert check_snapshot(current, SNAPSHOT) == []


def test_every_api_route_is_documented() -> None:
    paths = create_app().openapi()["paths"]
    for path in (
        "/api/v1/auth/register",
        "/api/v1/auth/login",
        "/api/v1/auth/refresh",
        "/api/v1/auth/logout",
        "/api/v1/me",
        "/api/v1/quotes/{symbol}",
        "/api/v1/quotes",
        "/api/v1/history/{symbol}",
        "/api/v1/indicators/{symbol}",
        "/api/v1/risk",
        "/api/v1/profile/{symbol}",
        "/api/v1/watchlist",
        "/api/v1/stocks/{symbol}/overview",
        "/api/v1/documents",
        "/api/v1/documents/{document_id}",
        "/api/v1/search",
    ):
        assert path in paths, path
