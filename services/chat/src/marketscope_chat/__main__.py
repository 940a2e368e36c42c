"""``python -m marketscope_chat``: serve on ``MARKETSCOPE_CHAT_HOST``/``PORT``."""

from __future__ import annotations

from marketscope_chat.settings import SERVICE, Settings
from marketscope_servicekit import serve

if __name__ == "__main__":
    serve(SERVICE.app, Settings())
