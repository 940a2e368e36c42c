"""Serves one ASGI app on a loopback port exactly as every service is served in production
(``marketscope_servicekit.serve.uvicorn_options``: no access log, keep-alive longer than
any caller's, no forwarded headers believed, small WebSocket frames), so the gateway,
market-data and the bare hello baseline run under the same uvicorn settings, and those
are the services' own.

Usage: python serve_app.py <module:attribute> <port> [<app dir>]
"""

from __future__ import annotations

import sys
from typing import Any

import uvicorn

from marketscope_servicekit.serve import uvicorn_options
from marketscope_servicekit.settings import ServiceSettings


def options(port: int) -> dict[str, Any]:
    """The services' uvicorn options, on ``port`` (the table name is not read)."""
    return uvicorn_options(ServiceSettings(port=port, table_name="unused"))


def main(argv: list[str]) -> None:
    app, port = argv[0], int(argv[1])
    if len(argv) > 2:
        sys.path.insert(0, argv[2])
    uvicorn.run(app, **options(port))


if __name__ == "__main__":
    main(sys.argv[1:])
