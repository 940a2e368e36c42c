"""``python -m marketscope_market_data``: serve on ``MARKETSCOPE_MARKET_DATA_HOST``/``PORT``."""

from __future__ import annotations

from marketscope_market_data.settings import SERVICE, Settings
from marketscope_servicekit import serve

if __name__ == "__main__":
    serve(SERVICE.app, Settings())
