"""The key that signs identities between the gateway and the services, and when a
service may start with it.

``MARKETSCOPE_INTERNAL_KEY`` is shared by the gateway and every service. Unset, it is
``DEVELOPMENT_KEY``, a published constant: whoever can reach a service could sign any
identity with it. A service therefore starts with that key, or any key shorter than
``MIN_KEY_BYTES``, only next to an emulator on loopback (a laptop, a test run), where
there is nothing but test data to protect; anywhere else it refuses to start and says
why. `marketscope up` hands every service a fresh `generate_internal_key` per run.
"""

from __future__ import annotations

import ipaddress
import logging
import secrets
from urllib.parse import urlsplit

from pydantic_settings import BaseSettings, SettingsConfigDict

from marketscope_platform.aws import AwsSettings

ENV_VARIABLE = "MARKETSCOPE_INTERNAL_KEY"
# What a service signs with when nothing is configured: acceptable on loopback only.
DEVELOPMENT_KEY = "marketscope-development-internal-key"
MIN_KEY_BYTES = 32
LOOPBACK_NAMES = frozenset({"localhost"})

logger = logging.getLogger(__name__)


class InternalKeySettings(BaseSettings):
    """``MARKETSCOPE_INTERNAL_KEY``: shared by the gateway and every service."""

    model_config = SettingsConfigDict(env_prefix="MARKETSCOPE_", extra="ignore")

    internal_key: str = DEVELOPMENT_KEY


class InsecureInternalKey(RuntimeError):
    """The internal key is published or too short for where the service runs."""


def generate_internal_key() -> str:
    """A fresh random key (48 random bytes, URL-safe text)."""
    return secrets.token_urlsafe(48)


def is_weak(key: str) -> bool:
    return key == DEVELOPMENT_KEY or len(key.encode()) < MIN_KEY_BYTES


def is_loopback_emulator(aws: AwsSettings) -> bool:
    """Whether the AWS endpoint is an emulator on this machine's loopback interface."""
    endpoint = aws.resolved_endpoint
    if endpoint is None:  # the real AWS endpoints
        return False
    host = urlsplit(endpoint).hostname or ""
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_internal_key(key: str, aws: AwsSettings) -> None:
    """Raise (and log) `InsecureInternalKey` when ``key`` is the development key or
    shorter than ``MIN_KEY_BYTES`` and the service does not run on a loopback emulator."""
    if not is_weak(key) or is_loopback_emulator(aws):
        return
    what = (
        "is the published development key"
        if key == DEVELOPMENT_KEY
        else f"is shorter than {MIN_KEY_BYTES} bytes"
    )
    where = aws.resolved_endpoint or "the AWS endpoints"
    message = (
        f"{ENV_VARIABLE} {what}: anyone could sign identities with it. Such a key is "
        f"accepted only next to an emulator on loopback, and the AWS endpoint is {where}. "
        f"Set {ENV_VARIABLE} to a random secret of at least {MIN_KEY_BYTES} bytes, shared "
        "by the gateway and every service, e.g. "
        "python -c 'import secrets; print(secrets.token_urlsafe(48))'."
    )
    logger.critical("refusing to start: %s", message)
    raise InsecureInternalKey(message)
