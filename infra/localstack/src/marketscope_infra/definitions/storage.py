"""DynamoDB tables (one per service, the event-store shape) and the documents bucket."""

from __future__ import annotations

from collections.abc import Mapping

from marketscope_events.store.table import TTL_ATTRIBUTE, table_definition
from marketscope_infra.definitions.model import JsonObject, Resource, bucket_arn
from marketscope_platform.topology import DOCUMENTS_BUCKET, ServiceInfo

# Nothing in a bucket is ever public: ACLs and policies that would grant public access are
# refused, and any that exist are ignored.
PUBLIC_ACCESS_BLOCKED: JsonObject = {
    "BlockPublicAcls": True,
    "IgnorePublicAcls": True,
    "BlockPublicPolicy": True,
    "RestrictPublicBuckets": True,
}

# SSE-S3: S3 manages the keys. It works on every backend and needs no KMS key or grants;
# the documents hold no data that calls for customer-managed keys.
DEFAULT_ENCRYPTION: JsonObject = {
    "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
}


def tables(services: Mapping[str, ServiceInfo]) -> list[Resource]:
    # No table has a DynamoDB stream: every service publishes through its outbox relay,
    # which reads the outbox index, so a stream would be paid for and never read.
    return [
        Resource(
            "table",
            info.table,
            {"definition": table_definition(info.table), "ttl_attribute": TTL_ATTRIBUTE},
        )
        for info in services.values()
    ]


def tls_only_policy(bucket: str) -> JsonObject:
    """A bucket policy refusing every request to the bucket and its objects that does not
    arrive over TLS, whoever makes it."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "DenyPlainHttp",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": [bucket_arn(bucket), f"{bucket_arn(bucket)}/*"],
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            }
        ],
    }


def documents_bucket() -> Resource:
    return Resource(
        "bucket",
        DOCUMENTS_BUCKET,
        {
            "versioning": True,
            "public_access_block": PUBLIC_ACCESS_BLOCKED,
            "encryption": DEFAULT_ENCRYPTION,
            "policy": tls_only_policy(DOCUMENTS_BUCKET),
        },
    )
