"""``python -m marketscope_notifier``: serve on ``MARKETSCOPE_NOTIFIER_HOST``/``PORT``."""

from __future__ import annotations

from marketscope_notifier.settings import SERVICE, Settings
from marketscope_servicekit import serve

if __name__ == "__main__":
    serve(SERVICE.app, Settings())
