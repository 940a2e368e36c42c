"""The market-data service held to the contract every service keeps: its layout, health,
readiness, the signed identity on every route, settings and their documentation."""

from __future__ import annotations

from pathlib import Path

from marketscope_market_data.main import create_app
from marketscope_market_data.settings import Settings
from marketscope_platform.topology import SERVICES
from marketscope_servicekit.testing import ServiceContract


class TestMarketDataService(ServiceContract):
    service = SERVICES["market-data"]
    settings_class = Settings
    create_app = staticmethod(create_app)
    readiness_checks = ("queue", "table")
    readme = Path(__file__).resolve().parents[1] / "README.md"
    probe_path = "/quotes/AAPL"
