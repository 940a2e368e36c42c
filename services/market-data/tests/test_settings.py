"""Settings of the market-data service: defaults from the topology, its own env prefix, and a
README that documents every variable."""

from __future__ import annotations

import re
from pathlib import Path

from marketscope_events.topology import SERVICES
from marketscope_market_data.settings import Settings

SERVICE = SERVICES["market-data"]
README = Path(__file__).resolve().parents[1] / "README.md"


def test_defaults_follow_the_topology():
    settings = Settings()
    assert settings.host == "127.0.0.1"
    assert (settings.port, settings.table_name) == (SERVICE.port, SERVICE.table)
    assert settings.queue_name == SERVICE.queue


def test_env_prefix_is_the_services(monkeypatch):
    monkeypatch.setenv("MARKETSCOPE_MARKET_DATA_TABLE_NAME", "elsewhere")
    assert Settings().table_name == "elsewhere"


def test_readme_documents_exactly_the_settings():
    documented = set(
        re.findall(r"^\| `(MARKETSCOPE_MARKET_DATA_[A-Z_]+)` \|", README.read_text(), re.M)
    )
    expected = {SERVICE.env_prefix + field.upper() for field in Settings.model_fields}
    assert documented == expected
