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
    readiness_checks = ("queue", "table")
    readme = Path(__file__).resolve().parents[1] / "README.md"
    # A skeleton: its only code with behaviour is the event store and its relay.
    role_tests = ("test_store.py",)
