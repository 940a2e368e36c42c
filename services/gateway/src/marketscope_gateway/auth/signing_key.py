"""The JWT signing key: from Secrets Manager (``marketscope/secrets``, key
``jwt_signing_key``), or from ``MARKETSCOPE_GATEWAY_JWT_SIGNING_KEY`` when set.

Until it is loaded, token routes answer 503; the loading is a background job of the app,
retried with backoff while Secrets Manager does not answer or the secret is not
provisioned yet.
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING

from marketscope_gateway.errors import GatewayError, SigningKeyUnavailable
from marketscope_platform.topology import SERVICES

if TYPE_CHECKING:
    from types_aiobotocore_secretsmanager import SecretsManagerClient

SECRET_KEY_FIELD = SERVICES["gateway"].secret_keys[0]
# HS256 with a shorter key is guessable offline from any token.
MIN_KEY_LENGTH = 32

logger = logging.getLogger(__name__)


class SigningKeyError(GatewayError):
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

    async def load(self, secretsmanager: SecretsManagerClient, secret_name: str) -> None:
        response = await secretsmanager.get_secret_value(SecretId=secret_name)
        try:
            key = json.loads(response["SecretString"])[SECRET_KEY_FIELD]
        except (KeyError, TypeError, json.JSONDecodeError) as exc:
            raise SigningKeyError(f"{secret_name} has no {SECRET_KEY_FIELD}") from exc
        self._value = _checked(str(key))
        logger.info("JWT signing key loaded from %s", secret_name)
