"""The rag service held to the contract every service keeps: health, readiness,
settings and their documentation."""

from __future__ import annotations

import tempfile
from pathlib import Path

from marketscope_platform.topology import SERVICES
from marketscope_rag.main import create_app
from marketscope_rag.settings import Settings
from marketscope_servicekit.testing import ServiceContract


class TestRagService(ServiceContract):
    service = SERVICES["rag"]
    settings_class = Settings
    create_app = staticmethod(create_app)
    readiness_checks = ("bucket", "queue", "table")
    readme = Path(__file__).resolve().parents[1] / "README.md"
    probe_path = "/documents"

    def settings(self, **values: object) -> Settings:
        # One process owns a Chroma directory: each app here gets a fresh one.
        values.setdefault("index_path", Path(tempfile.mkdtemp()) / "chroma")
        return Settings(**values)  # type: ignore[arg-type]


def test_own_defaults() -> None:
    settings = Settings()
    assert settings.documents_bucket == "marketscope-documents"
    assert settings.documents_prefix == "rag/"
    assert str(settings.index_path) == ".marketscope/rag/chroma"
    assert settings.max_upload_bytes == 20 * 1024 * 1024
    assert settings.openai_api_key is None  # offline embeddings unless a key is set
