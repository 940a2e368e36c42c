"""AWS settings and client creation shared by every service.

With no environment at all the clients talk to the embedded emulator on 127.0.0.1:4566.
``AWS_ENDPOINT_URL`` points them elsewhere (LocalStack); set it to an empty string to use
the real AWS endpoints of ``AWS_DEFAULT_REGION``.
"""

from __future__ import annotations

import os
from contextlib import AsyncExitStack
from typing import Any

from aiobotocore.config import AioConfig
from aiobotocore.session import AioSession, get_session
from pydantic_settings import BaseSettings, SettingsConfigDict

EMBEDDED_ENDPOINT = "http://127.0.0.1:4566"
EMULATOR_CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


class AwsSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="AWS_", extra="ignore")

    endpoint_url: str = EMBEDDED_ENDPOINT
    default_region: str = "us-east-1"

    @property
    def resolved_endpoint(self) -> str | None:
        return self.endpoint_url or None

    @property
    def uses_emulator(self) -> bool:
        return self.resolved_endpoint is not None


def _has_own_credentials() -> bool:
    return any(
        name in os.environ
        for name in ("AWS_ACCESS_KEY_ID", "AWS_PROFILE", "AWS_WEB_IDENTITY_TOKEN_FILE")
    )


class AwsClients:
    """Creates aiobotocore clients on demand and closes them together.

    >>> async with AwsClients() as aws:
    ...     sqs = await aws.client("sqs")
    """

    def __init__(
        self,
        settings: AwsSettings | None = None,
        *,
        session: AioSession | None = None,
        max_pool_connections: int = 50,
        app_id: str | None = None,
    ) -> None:
        """``app_id`` goes into every request's User-Agent (``app/<id>``): what CloudTrail,
        or the emulator's access log, says made the call."""
        self.settings = settings or AwsSettings()
        self._session = session or get_session()
        self._config = AioConfig(
            retries={"mode": "standard", "max_attempts": 4},
            connect_timeout=5,
            read_timeout=40,
            max_pool_connections=max_pool_connections,
            user_agent_appid=app_id,
        )
        self._stack = AsyncExitStack()
        self._clients: dict[str, Any] = {}

    async def client(self, service_name: str) -> Any:
        if service_name not in self._clients:
            kwargs: dict[str, Any] = {
                "region_name": self.settings.default_region,
                "endpoint_url": self.settings.resolved_endpoint,
                "config": self._config,
            }
            if self.settings.uses_emulator:
                # An emulator on loopback has no per-bucket host names.
                kwargs["config"] = self._config.merge(AioConfig(s3={"addressing_style": "path"}))
                if not _has_own_credentials():
                    kwargs.update(EMULATOR_CREDENTIALS)
            # One factory for every service: the typed overloads want a literal name.
            session: Any = self._session
            creator = session.create_client(service_name, **kwargs)
            self._clients[service_name] = await self._stack.enter_async_context(creator)
        return self._clients[service_name]

    async def close(self) -> None:
        self._clients.clear()
        await self._stack.aclose()

    async def __aenter__(self) -> AwsClients:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()
