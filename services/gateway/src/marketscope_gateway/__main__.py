"""``python -m marketscope_gateway``: serve on ``MARKETSCOPE_GATEWAY_HOST``/``PORT``."""

from __future__ import annotations

from marketscope_gateway.settings import SERVICE, Settings
from marketscope_servicekit import serve

if __name__ == "__main__":
    serve(SERVICE.app, Settings())
