"""Opening the configured model: one `ProviderConfig`, one `ChatModel`.

The settings name the provider; every hosted provider goes through `OpenAIChatModel`
with the client that provider needs. Missing values are refused here with the name of
the setting to fill, before any request could fail with a provider's less helpful words.
The offline engine is not opened here: it needs no client and is built where it lives.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

import httpx
import openai

from marketscope_chat.llm.base import ChatModel, ProviderName
from marketscope_chat.llm.capabilities import capabilities_for
from marketscope_chat.llm.openai import DEFAULT_IDLE_TIMEOUT, OpenAIChatModel

SETTING_PREFIX = "MARKETSCOPE_CHAT_"
# Given explicitly so that OPENAI_BASE_URL in the environment cannot redirect the calls.
OPENAI_BASE_URL = "https://api.openai.com/v1"
# Ollama and most local servers ignore the key, but the client will not send without one.
UNUSED_API_KEY = "unused"


@dataclass(frozen=True, slots=True)
class ProviderConfig:
    provider: ProviderName
    model: str  # Azure: the deployment name
    api_key: str | None = None
    base_url: str | None = None
    azure_endpoint: str | None = None
    api_version: str | None = None
    timeout: float = 60.0  # per HTTP request, as the openai client applies it
    max_retries: int = 2  # the openai client's own retries (429, 408, 409, 5xx, connection)
    capability_overrides: dict[str, Any] | None = None
    stream_idle_timeout: float = DEFAULT_IDLE_TIMEOUT  # longest wait for the next chunk


def open_model(
    config: ProviderConfig, *, http_client: httpx.AsyncClient | None = None
) -> ChatModel:
    """The model ``config`` names, over ``http_client`` when one is given (its owner
    closes it; otherwise the model's ``aclose`` closes the client it made)."""
    if config.provider == "offline":
        raise ValueError(
            "the offline engine is not a hosted provider: open it from marketscope_chat.llm.offline"
        )
    if not config.model.strip():
        raise ValueError(f"{_setting('LLM_MODEL')} is required for provider {config.provider!r}")
    # openai types its parameter as its own httpx fork's client and accepts httpx's too.
    shared_http = cast(Any, http_client)
    client: openai.AsyncOpenAI
    if config.provider == "openai":
        client = openai.AsyncOpenAI(
            api_key=_required(config.api_key, "LLM_API_KEY", config.provider),
            base_url=config.base_url or OPENAI_BASE_URL,
            timeout=config.timeout,
            max_retries=config.max_retries,
            http_client=shared_http,
        )
    elif config.provider == "azure":
        client = openai.AsyncAzureOpenAI(
            azure_endpoint=_required(config.azure_endpoint, "AZURE_ENDPOINT", config.provider),
            api_version=_required(config.api_version, "AZURE_API_VERSION", config.provider),
            api_key=_required(config.api_key, "LLM_API_KEY", config.provider),
            timeout=config.timeout,
            max_retries=config.max_retries,
            http_client=shared_http,
        )
    elif config.provider == "compatible":
        client = openai.AsyncOpenAI(
            base_url=_required(config.base_url, "LLM_BASE_URL", config.provider),
            api_key=config.api_key or UNUSED_API_KEY,
            timeout=config.timeout,
            max_retries=config.max_retries,
            http_client=shared_http,
        )
    else:
        raise ValueError(
            f"{_setting('LLM_PROVIDER')}={config.provider!r} is not one of "
            "offline, openai, azure, compatible"
        )
    return OpenAIChatModel(
        client,
        provider=config.provider,
        model=config.model,
        capabilities=capabilities_for(config.provider, config.model, config.capability_overrides),
        idle_timeout=config.stream_idle_timeout,
        close_client=http_client is None,
    )


def _setting(name: str) -> str:
    return f"{SETTING_PREFIX}{name}"


def _required(value: str | None, setting: str, provider: str) -> str:
    if value is None or not value.strip():
        raise ValueError(f"{_setting(setting)} is required for provider {provider!r}")
    return value
