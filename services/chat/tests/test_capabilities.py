"""The capability table: rows by model family, defaults per provider, overrides."""

from __future__ import annotations

import pytest

from marketscope_chat.llm.base import Capabilities
from marketscope_chat.llm.capabilities import DEFAULTS, TABLE, capabilities_for


@pytest.mark.parametrize(
    ("model", "parallel", "context"),
    [
        ("gpt-4o-mini-2024-07-18", True, 128_000),
        ("GPT-4o", True, 128_000),
        ("gpt-4.1-nano", True, 1_047_576),
        ("gpt-5-mini", True, 400_000),
        ("gpt-5-chat-latest", True, 128_000),
        ("o3", False, 200_000),
        ("o3-mini", False, 200_000),
        ("o4-mini-2025-04-16", False, 200_000),
        ("o1", False, 200_000),
        ("gpt-4", True, 8_192),
        ("gpt-3.5-turbo-0125", True, 16_385),
    ],
)
def test_openai_families(model: str, parallel: bool, context: int) -> None:
    assert capabilities_for("openai", model) == Capabilities(
        tool_choice=True, parallel_tool_calls=parallel, include_usage=True, context_tokens=context
    )


def test_azure_deployments_named_after_a_model_follow_that_model() -> None:
    assert capabilities_for("azure", "gpt-4o") == capabilities_for("openai", "gpt-4o")
    assert capabilities_for("azure", "o4-mini").parallel_tool_calls is False
    assert capabilities_for("azure", "gpt-35-turbo").context_tokens == 16_385


def test_an_azure_deployment_with_its_own_name_does_not_send_parallel_tool_calls() -> None:
    caps = capabilities_for("azure", "prod-chat-eu")
    assert caps == DEFAULTS["azure"]
    assert caps.parallel_tool_calls is False
    assert caps.tool_choice is True


@pytest.mark.parametrize(
    ("model", "context"),
    [
        ("llama3.1:8b", 131_072),
        ("meta-llama/Llama-3.1-8B-Instruct", 131_072),
        ("llama3.3:70b", 131_072),
        ("llama3:8b", 8_192),
        ("meta-llama/Meta-Llama-3-8B-Instruct", 8_192),
        ("qwen2.5:7b-instruct", 32_768),
        ("Qwen/Qwen2.5-7B-Instruct", 32_768),
        ("mistral:7b", 32_768),
        ("mistralai/Mistral-Nemo-Instruct-2407", 131_072),
        ("some-finetune:latest", 8_192),
    ],
)
def test_compatible_servers_get_conservative_flags_and_the_model_window(
    model: str, context: int
) -> None:
    caps = capabilities_for("compatible", model)
    assert (caps.tool_choice, caps.parallel_tool_calls) == (False, False)
    assert caps.context_tokens == context


def test_every_row_is_reachable_by_its_own_family_name() -> None:
    # An earlier, broader pattern must not shadow a later row.
    for row in TABLE:
        sample = row.patterns[0].replace("*", "")
        assert capabilities_for(row.provider, sample) == row.capabilities, row


def test_every_provider_has_a_default() -> None:
    for provider in ("offline", "openai", "azure", "compatible"):
        assert capabilities_for(provider, "unknown-model") == DEFAULTS[provider]


def test_overrides_replace_only_the_fields_they_name() -> None:
    caps = capabilities_for(
        "compatible", "qwen2.5:7b", {"tool_choice": True, "context_tokens": 4096}
    )
    assert caps == Capabilities(
        tool_choice=True, parallel_tool_calls=False, include_usage=True, context_tokens=4096
    )


@pytest.mark.parametrize(
    ("overrides", "complaint"),
    [
        ({"context_window": 4096}, "unknown capability override"),
        ({"context_tokens": 0}, "positive int"),
        ({"context_tokens": True}, "positive int"),
        ({"include_usage": "no"}, "true or false"),
    ],
)
def test_bad_overrides_are_refused(overrides: dict[str, object], complaint: str) -> None:
    with pytest.raises(ValueError, match=complaint):
        capabilities_for("openai", "gpt-4o", overrides)
