"""What every applier works with: boto3 clients, the account's ARN placeholders, the
outcome it reports and the comparisons that decide whether something drifted."""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from typing import Any

import boto3  # type: ignore[import-untyped]  # no stubs in the workspace
from botocore.config import Config
from botocore.exceptions import ClientError

Resource = dict[str, Any]

EMULATOR_CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
OWN_CREDENTIAL_VARIABLES = ("AWS_ACCESS_KEY_ID", "AWS_PROFILE", "AWS_WEB_IDENTITY_TOKEN_FILE")
NUMBER = re.compile(r"-?\d+(\.\d+)?")


class ProvisioningError(Exception):
    def __init__(self, kind: str, name: str, detail: str) -> None:
        super().__init__(f"{kind} {name}: {detail}")
        self.kind = kind
        self.name = name


@dataclass(frozen=True)
class Outcome:
    """``updated`` names drifted settings that were put back; ``notes`` says what was
    deliberately left off, and why."""

    created: bool
    updated: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()


CREATED = Outcome(created=True)
UNCHANGED = Outcome(created=False)


def found(updated: list[str] | tuple[str, ...] = ()) -> Outcome:
    """The resource existed; ``updated`` names what drifted and was brought back in line."""
    return Outcome(created=False, updated=tuple(updated))


class Clients:
    """boto3 clients for one endpoint and region, made on first use.

    ``endpoint_url=None`` is real AWS (botocore still honours ``AWS_ENDPOINT_URL`` when it
    is set). Against an endpoint (emulator, LocalStack) with no credentials in the
    environment it signs with the dummy credentials emulators accept."""

    def __init__(
        self, endpoint_url: str | None = None, region: str = "us-east-1", *, session: Any = None
    ) -> None:
        self.endpoint_url = endpoint_url or None
        self.region = region
        self._session = session or boto3.session.Session()
        self._clients: dict[str, Any] = {}
        self._placeholders: dict[str, str] | None = None

    def client(self, service: str) -> Any:
        if service not in self._clients:
            kwargs: dict[str, Any] = {
                "region_name": self.region,
                "endpoint_url": self.endpoint_url,
                "config": Config(
                    retries={"mode": "standard", "max_attempts": 5},
                    connect_timeout=5,
                    read_timeout=60,
                    # An emulator on localhost has no per-bucket host names.
                    s3={"addressing_style": "path" if self.endpoint_url else "auto"},
                ),
            }
            if self.endpoint_url and not any(v in os.environ for v in OWN_CREDENTIAL_VARIABLES):
                kwargs.update(EMULATOR_CREDENTIALS)
            self._clients[service] = self._session.client(service, **kwargs)
        return self._clients[service]

    def placeholders(self) -> dict[str, str]:
        """The values of the spec's ``${AWS::...}`` placeholders for this account."""
        if self._placeholders is None:
            identity = self.client("sts").get_caller_identity()
            self._placeholders = {
                "${AWS::Partition}": str(identity["Arn"]).split(":")[1],
                "${AWS::Region}": self.region,
                "${AWS::AccountId}": str(identity["Account"]),
            }
        return self._placeholders


def substitute(value: Any, placeholders: dict[str, str]) -> Any:
    if isinstance(value, str):
        for placeholder, replacement in placeholders.items():
            value = value.replace(placeholder, replacement)
        return value
    if isinstance(value, dict):
        return {key: substitute(item, placeholders) for key, item in value.items()}
    if isinstance(value, list):
        return [substitute(item, placeholders) for item in value]
    return value


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def canonical(value: Any) -> Any:
    """A form in which AWS's echo of a value equals what was sent: numbers and numeric
    strings alike (``"3"``, ``3``, ``3.0``), JSON strings parsed, key order ignored."""
    if isinstance(value, str):
        stripped = value.strip()
        if stripped.startswith(("{", "[")):
            try:
                return canonical(json.loads(stripped))
            except ValueError:
                return value
        return float(stripped) if NUMBER.fullmatch(stripped) else value
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, dict):
        return {key: canonical(item) for key, item in sorted(value.items())}
    if isinstance(value, (list, tuple)):
        return [canonical(item) for item in value]
    return value


def drifted(desired: dict[str, Any], current: dict[str, Any]) -> list[str]:
    """The keys of ``desired`` whose current value differs."""
    return sorted(
        key for key, value in desired.items() if canonical(value) != canonical(current.get(key))
    )
