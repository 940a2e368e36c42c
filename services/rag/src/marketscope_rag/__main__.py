"""``python -m marketscope_rag``: serve on ``MARKETSCOPE_RAG_HOST``/``PORT``."""

from __future__ import annotations

from marketscope_rag.settings import SERVICE, Settings
from marketscope_servicekit import serve

if __name__ == "__main__":
    serve(SERVICE.app, Settings())
