"""S3 buckets: versioning, the public-access block, default encryption and the bucket
policy, each put back when it drifted.

A policy that refuses plain HTTP is not put on a bucket whose endpoint speaks plain HTTP
(an emulator on loopback): every client of that endpoint arrives without TLS, so the
policy would refuse them all. moto goes further and ignores the policy's condition, so it
would refuse every object request even over TLS. Real AWS and any https endpoint get it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from botocore.exceptions import ClientError

from marketscope_infra.appliers.context import (
    Clients,
    Outcome,
    Resource,
    canonical,
    drifted,
    error_code,
)

MISSING_BUCKET = ("404", "NoSuchBucket", "NotFound")
NO_PUBLIC_ACCESS_BLOCK = "NoSuchPublicAccessBlockConfiguration"
NO_ENCRYPTION = "ServerSideEncryptionConfigurationNotFoundError"
NO_POLICY = "NoSuchBucketPolicy"
TLS_POLICY_LEFT_OFF = "no TLS-only policy: the endpoint is plain HTTP"


def apply_bucket(clients: Clients, resource: Resource) -> Outcome:
    s3 = clients.client("s3")
    name = resource["name"]
    created = _create_if_missing(s3, clients.region, name)
    changes: list[str] = []
    notes: list[str] = []
    if resource.get("versioning"):
        changes += _enable_versioning(s3, name)
    if "public_access_block" in resource:
        changes += _put_public_access_block(s3, name, resource["public_access_block"])
    if "encryption" in resource:
        changes += _put_encryption(s3, name, resource["encryption"])
    if "policy" in resource:
        if refuses_plain_http(resource["policy"]) and not speaks_tls(s3):
            notes.append(TLS_POLICY_LEFT_OFF)
        else:
            changes += _put_policy(s3, name, resource["policy"])
    return Outcome(created=created, updated=() if created else tuple(changes), notes=tuple(notes))


def refuses_plain_http(policy: dict[str, Any]) -> bool:
    """Whether a statement denies requests made without TLS (``aws:SecureTransport``)."""
    return any(
        statement.get("Effect") == "Deny"
        and str(statement.get("Condition", {}).get("Bool", {}).get("aws:SecureTransport")).lower()
        == "false"
        for statement in policy.get("Statement", [])
    )


def speaks_tls(s3: Any) -> bool:
    """Whether the client reaches S3 over https (AWS itself, or an https endpoint)."""
    return urlsplit(str(s3.meta.endpoint_url)).scheme == "https"


def _create_if_missing(s3: Any, region: str, name: str) -> bool:
    try:
        s3.head_bucket(Bucket=name)
        return False
    except ClientError as exc:
        if error_code(exc) not in MISSING_BUCKET:
            raise
    arguments: dict[str, Any] = {"Bucket": name}
    if region != "us-east-1":
        arguments["CreateBucketConfiguration"] = {"LocationConstraint": region}
    s3.create_bucket(**arguments)
    return True


def _enable_versioning(s3: Any, name: str) -> list[str]:
    if s3.get_bucket_versioning(Bucket=name).get("Status") == "Enabled":
        return []
    s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    return ["Versioning"]


def _setting(read: Callable[[], Any], *, missing: str, default: Any) -> Any:
    """What ``read`` returns, or ``default`` when S3 answers ``missing`` (never set)."""
    try:
        return read()
    except ClientError as exc:
        if error_code(exc) != missing:
            raise
        return default


def _put_public_access_block(s3: Any, name: str, desired: dict[str, Any]) -> list[str]:
    current = _setting(
        lambda: s3.get_public_access_block(Bucket=name)["PublicAccessBlockConfiguration"],
        missing=NO_PUBLIC_ACCESS_BLOCK,
        default={},
    )
    if not drifted(desired, current):
        return []
    s3.put_public_access_block(Bucket=name, PublicAccessBlockConfiguration=desired)
    return ["PublicAccessBlock"]


def _put_encryption(s3: Any, name: str, desired: dict[str, Any]) -> list[str]:
    current = _setting(
        lambda: s3.get_bucket_encryption(Bucket=name)["ServerSideEncryptionConfiguration"],
        missing=NO_ENCRYPTION,
        default={"Rules": []},
    )
    if _rules_match(desired["Rules"], current.get("Rules", [])):
        return []
    s3.put_bucket_encryption(Bucket=name, ServerSideEncryptionConfiguration=desired)
    return ["Encryption"]


def _rules_match(desired: list[dict[str, Any]], current: list[dict[str, Any]]) -> bool:
    """The current rules say what the desired ones say; settings AWS adds that the spec
    does not name (``BucketKeyEnabled``, ``BlockedEncryptionTypes``) are not drift."""
    return len(desired) == len(current) and all(
        not drifted(want, have) for want, have in zip(desired, current, strict=True)
    )


def _put_policy(s3: Any, name: str, desired: dict[str, Any]) -> list[str]:
    current = _setting(
        lambda: json.loads(s3.get_bucket_policy(Bucket=name)["Policy"]),
        missing=NO_POLICY,
        default=None,
    )
    if canonical(current) == canonical(desired):
        return []
    s3.put_bucket_policy(Bucket=name, Policy=json.dumps(desired))
    return ["Policy"]
