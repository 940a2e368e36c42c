"""The web app: the files of the repository's top-level ``web/`` folder, served at ``/``
(``index.html``) and under ``/web/`` (its modules, styles and vendored libraries), on the
same origin as ``/api/v1`` and ``/ws``.

Every answer carries an ETag and ``Cache-Control: no-cache``: a browser keeps each file
and revalidates it, and an unchanged file costs a 304 without a body. Text is gzipped
for clients that accept it. The Content-Security-Policy allows scripts, styles, images
and fonts from this origin only, nothing inline, and connections to this origin's REST
API and WebSocket.
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path

from fastapi import FastAPI
from starlette.datastructures import Headers
from starlette.middleware.gzip import GZipMiddleware
from starlette.responses import Response
from starlette.routing import Route
from starlette.staticfiles import PathLike, StaticFiles
from starlette.types import Scope

# services/gateway/src/marketscope_gateway/web.py -> the repository root's web/.
WEB_ROOT = Path(__file__).resolve().parents[4] / "web"
WEB_PREFIX = "/web"
INDEX = "index.html"
# Below this, gzip's header and the extra work outweigh the bytes saved.
GZIP_MINIMUM_BYTES = 1024
GZIP_LEVEL = 6
# A Host header as it may appear in a policy: a name or address, and a port.
HOST = re.compile(r"^(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?$")

logger = logging.getLogger(__name__)


def content_security_policy(host: str | None) -> str:
    """Only this origin, nothing inline. ``'self'`` covers the WebSocket in browsers of
    CSP level 3; the host's ws/wss origins are named as well for the others."""
    connect = ["'self'"]
    if host is not None and HOST.fullmatch(host):
        connect += [f"ws://{host}", f"wss://{host}"]
    directives = {
        "default-src": "'none'",
        "script-src": "'self'",
        "style-src": "'self'",
        "img-src": "'self'",
        "font-src": "'self'",
        "connect-src": " ".join(connect),
        "manifest-src": "'self'",
        "base-uri": "'none'",
        "form-action": "'self'",
        "frame-ancestors": "'none'",
    }
    return "; ".join(f"{name} {value}" for name, value in directives.items())


def web_headers(scope: Scope) -> dict[str, str]:
    return {
        "Content-Security-Policy": content_security_policy(Headers(scope=scope).get("host")),
        "Cache-Control": "no-cache",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "Cross-Origin-Opener-Policy": "same-origin",
    }


class WebFiles(StaticFiles):
    """Starlette's static files (ETag, 304 on If-None-Match or If-Modified-Since, HEAD,
    no path outside the folder) with the web app's headers; ``/`` is ``index.html``."""

    def get_path(self, scope: Scope) -> str:
        path = super().get_path(scope)
        return INDEX if path in {"", "."} else path

    def file_response(
        self,
        full_path: PathLike,
        stat_result: os.stat_result,
        scope: Scope,
        status_code: int = 200,
    ) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        response.headers.update(web_headers(scope))
        return response


def install_web(app: FastAPI, root: Path = WEB_ROOT) -> None:
    """Serve ``root`` after every other route, so no API, WebSocket, docs or health
    path changes; left out (with a warning) where the folder is not installed."""
    if not (root / INDEX).is_file():
        logger.warning("no web app at %s: / is not served", root)
        return
    files = GZipMiddleware(
        WebFiles(directory=root), minimum_size=GZIP_MINIMUM_BYTES, compresslevel=GZIP_LEVEL
    )
    app.router.routes.append(Route("/", files, methods=["GET", "HEAD"], include_in_schema=False))
    app.mount(WEB_PREFIX, files, name="web")
