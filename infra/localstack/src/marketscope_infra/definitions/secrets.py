"""The shared Secrets Manager secret: placeholders, and a signing key made at creation."""

from __future__ import annotations

from marketscope_infra.definitions.model import Resource
from marketscope_platform.topology import SECRET_NAME


def shared_secret() -> Resource:
    return Resource(
        "secret",
        SECRET_NAME,
        {
            "description": "MarketScope service secrets (LLM keys, JWT signing key)",
            # Set once when the secret is created; an existing secret is never rewritten.
            "initial_value": {"openai_api_key": ""},
            "generated_keys": ["jwt_signing_key"],
        },
    )
