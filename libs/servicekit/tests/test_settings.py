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


def test_traces_are_sampled_by_x_rays_default_rule_unless_told_otherwise():
    settings = ChatLikeSettings()
    assert (settings.trace_sampling_reservoir, settings.trace_sampling_rate) == (1, 0.05)
    assert settings.trace_sampling_rules is None
    assert settings.sampling_rules() == {
        "version": 2,
        "default": {"fixed_target": 1, "rate": 0.05},
        "rules": [],
    }
    assert settings.trace_slow_request_seconds == 2.0


def test_trace_sampling_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv("MARKETSCOPE_DEMO_SVC_TRACE_SAMPLING_RATE", "1")
    monkeypatch.setenv("MARKETSCOPE_DEMO_SVC_TRACE_SAMPLING_RESERVOIR", "0")
    monkeypatch.setenv("MARKETSCOPE_DEMO_SVC_TRACE_SLOW_REQUEST_SECONDS", "0.5")
    settings = ChatLikeSettings()
    assert settings.sampling_rules()["default"] == {"fixed_target": 0, "rate": 1.0}
    assert settings.trace_slow_request_seconds == 0.5

    rules = '{"version": 2, "default": {"fixed_target": 2, "rate": 0.5}}'
    monkeypatch.setenv("MARKETSCOPE_DEMO_SVC_TRACE_SAMPLING_RULES", rules)
    # A rules document replaces the rate and reservoir.
    assert ChatLikeSettings().sampling_rules()["default"] == {"fixed_target": 2, "rate": 0.5}


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("TRACE_SAMPLING_RATE", "1.5"),
        ("TRACE_SAMPLING_RESERVOIR", "-1"),
        ("TRACE_SLOW_REQUEST_SECONDS", "0"),
        ("TRACE_SAMPLING_RULES", '{"version": 2, "rules": []}'),
        ("TRACE_SAMPLING_RULES", '{"version": 2, "default": {"fixed_target": -1, "rate": 0}}'),
    ],
)
def test_unusable_trace_sampling_is_refused_at_start(monkeypatch, name, value):
    monkeypatch.setenv(f"MARKETSCOPE_DEMO_SVC_{name}", value)
    with pytest.raises(ValidationError):
        ChatLikeSettings()
