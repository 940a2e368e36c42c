"""Which model answers: the provider the settings name, opened on first use.

The offline engine needs nothing. The others need a key: ``MARKETSCOPE_CHAT_LLM_API_KEY``
when set, otherwise the field ``llm_secret_field`` of the Secrets Manager secret
``secret_name`` (read once, on the first turn, so a service starts while AWS is still
coming up). A compatible server (Ollama, vLLM) may need no key at all.
"""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from marketscope_chat.errors import ModelNotConfigured
from marketscope_chat.llm.base import ChatModel
from marketscope_chat.llm.offline import OfflineEngine
from marketscope_chat.llm.providers import ProviderConfig, open_model
from marketscope_chat.settings import Settings
from marketscope_platform.aws import AwsClients

if TYPE_CHECKING:
    import httpx


class ModelSource:
    def __init__(
        self,
        settings: Settings,
        aws: AwsClients,
        *,
        http_client: httpx.AsyncClient | None = None,
    ) -> None:
        self._settings = settings
        self._aws = aws
        self._http_client = http_client
        self._model: ChatModel | None = None
        self._lock = asyncio.Lock()

    async def get(self) -> ChatModel:
        if self._model is None:
            async with self._lock:
                if self._model is None:
                    self._model = await self._open()
        return self._model

    async def _open(self) -> ChatModel:
        settings = self._settings
        if settings.llm_provider == "offline":
            return OfflineEngine()
        try:
            model = settings.model_name
            config = ProviderConfig(
                provider=settings.llm_provider,
                model=model,
                api_key=await self._api_key(),
                base_url=settings.llm_base_url,
                azure_endpoint=settings.azure_endpoint,
                api_version=settings.azure_api_version,
                timeout=settings.llm_timeout,
                max_retries=settings.llm_max_retries,
                capability_overrides=(
                    {"context_tokens": settings.llm_context_tokens}
                    if settings.llm_context_tokens
                    else None
                ),
            )
            return open_model(config, http_client=self._http_client)
        except ValueError as exc:
            raise ModelNotConfigured(str(exc), dependency="llm") from exc

    async def _api_key(self) -> str | None:
        settings = self._settings
        if settings.llm_api_key is not None:
            return settings.llm_api_key.get_secret_value()
        try:
            secrets = await self._aws.client("secretsmanager")
            response = await secrets.get_secret_value(SecretId=settings.secret_name)
            value = json.loads(response["SecretString"]).get(settings.llm_secret_field)
        except (ClientError, BotoCoreError, ValueError, KeyError) as exc:
            if settings.llm_provider == "compatible":
                return None
            raise ModelNotConfigured(
                f"No LLM key: {settings.secret_name} could not be read ({exc}).",
                dependency="secretsmanager",
            ) from exc
        if not value and settings.llm_provider != "compatible":
            raise ModelNotConfigured(
                f"No LLM key: set MARKETSCOPE_CHAT_LLM_API_KEY or the field "
                f"{settings.llm_secret_field} of {settings.secret_name}.",
                dependency="llm",
            )
        return str(value) if value else None

    async def aclose(self) -> None:
        if self._model is not None:
            await self._model.aclose()
