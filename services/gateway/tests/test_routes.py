"""Every route of the gateway is the one its own path reaches: the order routers are
included in (the most requested first, `api/__init__.py`) decides how fast a request is
routed, never where it goes."""

from __future__ import annotations

import re

from fastapi.routing import iter_route_contexts
from starlette.routing import Match, Route, WebSocketRoute

from marketscope_gateway.main import create_app

PARAMETER = re.compile(r"{([^}:]+)(:[^}]+)?}")


def test_every_route_is_reached_by_its_own_path() -> None:
    app = create_app()
    routes = [
        route
        for route in iter_route_contexts(app.router.routes)
        if isinstance(route.route, Route | WebSocketRoute)  # not the web app's folder
    ]
    assert any(route.path == "/api/v1/quotes/{symbol}" for route in routes)
    for route in routes:
        path = PARAMETER.sub("sample", route.path)
        kind = "websocket" if isinstance(route.route, WebSocketRoute) else "http"
        for method in sorted(route.methods or {"GET"}):
            scope = {"type": kind, "path": path, "method": method, "root_path": ""}
            reached = next((r for r in routes if r.matches(scope)[0] is Match.FULL), None)
            assert reached is not None, f"{method} {route.path} reaches no route"
            assert reached.route is route.route, f"{method} {route.path} reaches {reached.path}"
