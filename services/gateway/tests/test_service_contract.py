"""The gateway service held to the contract every service keeps: health, readiness,
settings and their documentation."""

from __future__ import annotations

from pathlib import Path

from marketscope_events.topology import SERVICES
from marketscope_gateway.main import create_app
from marketscope_gateway.settings import Settings
from marketscope_servicekit.testing import ServiceContract


class TestGatewayService(ServiceContract):
    service = SERVICES["gateway"]
    settings_class = Settings
    create_app = staticmethod(create_app)
    readiness_checks = ("table",)
    readme = Path(__file__).resolve().parents[1] / "README.md"


def test_own_defaults() -> None:
    settings = Settings()
    assert settings.market_data_url == "http://127.0.0.1:8002"
    assert settings.notifier_url == "http://127.0.0.1:8004"
