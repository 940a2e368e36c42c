"""The JWT signing key: from Secrets Manager (``marketscope/secrets``, key
``jwt_signing_key``), or from ``MARKETSCOPE_GATEWAY_JWT_SIGNING_KEY`` when set."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from marketscope_gateway.errors import SigningKeyUnavailable

SECRET_KEY_FIELD = "jwt_signing_key"
# HS256 with a shorter key is guessable offline from any token.
MIN_KEY_LENGTH = 32

logger = logging.getLogger(__name__)


class SigningKeyError(Exception):
    """The secret exists but holds no usable key."""


def _checked(key: str) -> str:
    if len(key) < MIN_KEY_LENGTH:
        raise SigningKeyError(f"the JWT signing key must be at least {MIN_KEY_LENGTH} characters")
    return key


class SigningKey:
    def __init__(self, override: str | None = None) -> None:
        self._value = _checked(override) if override else None

    @property
    def loaded(self) -> bool:
        return self._value is not None

    @property
    def value(self) -> str:
        if self._value is None:
            raise SigningKeyUnavailable()
        return self._value

    async def load(self, secretsmanager: Any, secret_name: str) -> None:
        response = await secretsmanager.get_secret_value(SecretId=secret_name)
        try:
            key = json.loads(response["SecretString"])[SECRET_KEY_FIELD]
        except (KeyError, TypeError, json.JSONDecodeError) as exc:
            raise SigningKeyError(f"{secret_name} has no {SECRET_KEY_FIELD}") from exc
        self._value = _checked(str(key))

    async def load_until_loaded(
        self, secretsmanager: Any, secret_name: str, *, max_delay: float = 30.0
    ) -> None:
        """Retry with backoff: the service starts (and answers 503 on token routes) while
        Secrets Manager is unreachable or the secret is not provisioned yet."""
        delay = 0.5
        while not self.loaded:
            try:
                await self.load(secretsmanager, secret_name)
            except (ClientError, BotoCoreError, SigningKeyError) as exc:
                logger.warning("JWT signing key not loaded (%s); retrying in %.1fs", exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, max_delay)
        logger.info("JWT signing key loaded from %s", secret_name)
