"""Secrets Manager secrets: made once with placeholders and generated keys, never
rewritten (someone may have put the real keys in since)."""

from __future__ import annotations

import json
from secrets import token_urlsafe

from botocore.exceptions import ClientError

from marketscope_infra.appliers.context import (
    CREATED,
    Clients,
    Outcome,
    Resource,
    error_code,
    found,
)

GENERATED_KEY_BYTES = 48


def initial_value(resource: Resource) -> dict[str, str]:
    value = dict(resource.get("initial_value", {}))
    for key in resource.get("generated_keys", []):
        value[key] = token_urlsafe(GENERATED_KEY_BYTES)
    return value


def apply_secret(clients: Clients, resource: Resource) -> Outcome:
    secretsmanager = clients.client("secretsmanager")
    try:
        secretsmanager.describe_secret(SecretId=resource["name"])
        return found()
    except ClientError as exc:
        if error_code(exc) != "ResourceNotFoundException":
            raise
    secretsmanager.create_secret(
        Name=resource["name"],
        Description=resource.get("description", ""),
        SecretString=json.dumps(initial_value(resource)),
    )
    return CREATED
