"""The rag service held to the contract every service keeps: health, readiness,
settings and their documentation."""

from __future__ import annotations

from pathlib import Path

from marketscope_events.topology import SERVICES
from marketscope_rag.main import create_app
from marketscope_rag.settings import Settings
from marketscope_servicekit.testing import ServiceContract


class TestRagService(ServiceContract):
    service = SERVICES["rag"]
    settings_class = Settings
    create_app = staticmethod(create_app)
    readiness_checks = ("bucket", "queue", "table")
    readme = Path(__file__).resolve().parents[1] / "README.md"


def test_own_defaults() -> None:
    settings = Settings()
    assert settings.documents_bucket == "marketscope-documents"
    assert settings.documents_prefix == "rag/"
