"""The notifier service held to the contract every service keeps: layout, health, readiness,
the signed identity, settings and their documentation."""

from __future__ import annotations

from pathlib import Path

from marketscope_notifier.main import create_app
from marketscope_notifier.settings import Settings
from marketscope_platform.topology import SERVICES
from marketscope_servicekit.testing import ServiceContract


class TestNotifierService(ServiceContract):
    service = SERVICES["notifier"]
    settings_class = Settings
    create_app = staticmethod(create_app)
    readiness_checks = ("queue", "table")
    readme = Path(__file__).resolve().parents[1] / "README.md"
    probe_path = "/notifications/unread-count"
    # Its HTTP and handler tests go by capability: test_alerts.py, test_channels.py.
    role_tests = ("test_store.py",)
