"""The chat service held to the contract every service keeps: health, readiness,
settings and their documentation."""

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
    readiness_checks = ("queue", "table")
    readme = Path(__file__).resolve().parents[1] / "README.md"
