"""``python -m marketscope_gateway``: serve on ``MARKETSCOPE_GATEWAY_HOST``/``PORT``."""

from __future__ import annotations

import uvicorn

from marketscope_gateway.settings import SERVICE, Settings

if __name__ == "__main__":
    settings = Settings()
    uvicorn.run(
        SERVICE.app,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level.lower(),
        log_config=None,  # the app logs JSON lines itself
        # Frames are small JSON; compressing each one for every client would cost the
        # fan-out more CPU than it saves on loopback and LANs.
        ws_per_message_deflate=False,
    )
