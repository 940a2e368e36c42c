"""Runs a service under uvicorn on the host and port of its settings (``python -m
marketscope_<service>``), so ``MARKETSCOPE_<SERVICE>_HOST``/``_PORT`` take effect without
repeating them as uvicorn flags. `marketscope up` and the image start services this way."""

from __future__ import annotations

from typing import Any

import uvicorn

from marketscope_servicekit.calls import SERVER_KEEP_ALIVE_SECONDS
from marketscope_servicekit.settings import ServiceSettings

WS_MAX_FRAME_BYTES = 64 * 1024


def serve(app: str, settings: ServiceSettings) -> None:
    """Serve the ASGI app at import path ``app`` (``<module>.main:app``) until stopped."""
    uvicorn.run(app, **uvicorn_options(settings))


def uvicorn_options(settings: ServiceSettings) -> dict[str, Any]:
    """How every service is served (keyword arguments of ``uvicorn.run``/``Config``)."""
    return dict(
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level.lower(),
        # The app installs JSON logging when it is built; uvicorn's text config would
        # only be replaced again.
        log_config=None,
        # uvicorn's size limit applies after inflating: a 15 KB deflated frame could
        # expand to 15 MiB before it is refused. Frames are small JSON anyway, and
        # deflating each one per client costs the gateway's fan-out more CPU than it saves.
        ws_per_message_deflate=False,
        # Client frames are small JSON messages (the gateway refuses more than 4,096
        # characters); uvicorn's default would read 16 MiB before the app could refuse.
        ws_max_size=WS_MAX_FRAME_BYTES,
        # A line per request would drown the service's own logs; every request is
        # already measured (APILatency by route and status) and traced.
        access_log=False,
        # Longer than any caller keeps an idle connection (see ``calls``).
        timeout_keep_alive=SERVER_KEEP_ALIVE_SECONDS,
        # uvicorn believes X-Forwarded-For from 127.0.0.1 unless told otherwise: any
        # local process could then pick its client address and defeat per-address
        # limits. Forwarded headers count only from the configured proxies.
        proxy_headers=bool(settings.trusted_proxies),
        forwarded_allow_ips=list(settings.trusted_proxies),
    )
