"""The chat service held to the contract every service keeps: layout, health, readiness,
the signed identity, settings and their documentation."""

from __future__ import annotations

from pathlib import Path

from marketscope_chat.main import create_app
from marketscope_chat.settings import Settings
from marketscope_platform.topology import SERVICES
from marketscope_servicekit.testing import ServiceContract


class TestChatService(ServiceContract):
    service = SERVICES["chat"]
    settings_class = Settings
    create_app = staticmethod(create_app)
    readiness_checks = ("bucket", "queue", "table")
    readme = Path(__file__).resolve().parents[1] / "README.md"
    probe_path = "/conversations"
    # No event handlers yet (nothing consumes its queue), so no test_handlers.py.
    role_tests = ("test_api.py", "test_service.py", "test_store.py", "fakes.py")
