"""Runs a service under uvicorn on the host and port of its settings (``python -m
marketscope_<service>``), so ``MARKETSCOPE_<SERVICE>_HOST``/``_PORT`` take effect without
repeating them as uvicorn flags."""

from __future__ import annotations

import uvicorn

from marketscope_servicekit.settings import ServiceSettings


def serve(app: str, settings: ServiceSettings) -> None:
    """Serve the ASGI app at import path ``app`` (``<module>.main:app``) until stopped."""
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level.lower(),
        # The app installs JSON logging when it is built; uvicorn's text config would
        # only be replaced again.
        log_config=None,
    )
