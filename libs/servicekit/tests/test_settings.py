from __future__ import annotations

import pytest
from pydantic import ValidationError
from pydantic_settings import SettingsConfigDict

from marketscope_servicekit import ServiceSettings


class ChatLikeSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="MARKETSCOPE_DEMO_SVC_")

    port: int = 8001
    table_name: str = "marketscope-demo"


def test_defaults_need_no_environment():
    settings = ChatLikeSettings()
    assert settings.host == "127.0.0.1"
    assert settings.port == 8001
    assert settings.log_level == "INFO"
    assert settings.table_name == "marketscope-demo"


def test_the_service_prefix_overrides(monkeypatch):
    monkeypatch.setenv("MARKETSCOPE_DEMO_SVC_HOST", "0.0.0.0")
    monkeypatch.setenv("MARKETSCOPE_DEMO_SVC_LOG_LEVEL", "debug")
    monkeypatch.setenv("MARKETSCOPE_DEMO_SVC_TABLE_NAME", "other")
    monkeypatch.setenv("HOST", "10.0.0.1")  # unprefixed names belong to someone else
    settings = ChatLikeSettings()
    assert settings.host == "0.0.0.0"
    assert settings.log_level == "DEBUG"
    assert settings.table_name == "other"


def test_invalid_values_are_rejected(monkeypatch):
    monkeypatch.setenv("MARKETSCOPE_DEMO_SVC_LOG_LEVEL", "loud")
    with pytest.raises(ValidationError):
        ChatLikeSettings()
