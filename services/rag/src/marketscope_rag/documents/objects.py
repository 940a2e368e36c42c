"""Document bytes in S3: ``<prefix><owner>/<document_id>/<filename>`` in a versioned
bucket. Every upload of a document is a new object version of the same key; indexing
reads the exact version its event names. Deleting a document removes every version of
its key for good: a presigned link names a version, so a delete marker alone would leave
every link minted before the delete serving the deleted bytes."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from marketscope_events.aws_errors import error_code
from marketscope_rag.errors import RagError, StorageUnavailableError

if TYPE_CHECKING:
    from types_aiobotocore_s3 import S3Client
    from types_aiobotocore_s3.type_defs import ObjectIdentifierTypeDef

_UNSAFE = re.compile(r"[^A-Za-z0-9._() -]+")
_MISSING = {"NoSuchKey", "NoSuchVersion", "404", "InvalidArgument"}


class ObjectMissingError(RagError):
    """The object version an event names does not exist (any more)."""


def safe_filename(filename: str) -> str:
    """The last path component, with characters outside a conservative set replaced."""
    name = filename.replace("\\", "/").rsplit("/", 1)[-1].strip()
    name = _UNSAFE.sub("_", name).strip(". ")
    return name[:200] or "document"


@dataclass(frozen=True)
class StoredObject:
    key: str
    version_id: str | None


@contextmanager
def _storage_errors() -> Iterator[None]:
    """Any S3 failure (an error answer, no answer) is storage being unavailable: 503."""
    try:
        yield
    except (ClientError, BotoCoreError) as exc:
        raise StorageUnavailableError(str(exc), dependency="s3") from exc


class DocumentObjects:
    def __init__(self, s3: S3Client, bucket: str, prefix: str) -> None:
        self._s3 = s3
        self.bucket = bucket
        self._prefix = prefix

    def key(self, owner: str, document_id: str, filename: str) -> str:
        return f"{self._prefix}{owner}/{document_id}/{filename}"

    async def put(
        self, key: str, data: bytes, *, content_type: str, metadata: dict[str, str]
    ) -> StoredObject:
        with _storage_errors():
            response = await self._s3.put_object(
                Bucket=self.bucket, Key=key, Body=data, ContentType=content_type, Metadata=metadata
            )
        return StoredObject(key, response.get("VersionId"))

    async def get(self, key: str, version_id: str | None) -> bytes:
        try:
            if version_id:
                response = await self._s3.get_object(
                    Bucket=self.bucket, Key=key, VersionId=version_id
                )
            else:
                response = await self._s3.get_object(Bucket=self.bucket, Key=key)
            async with response["Body"] as body:
                return bytes(await body.read())
        except ClientError as exc:
            if error_code(exc) in _MISSING:
                raise ObjectMissingError(f"s3://{self.bucket}/{key} ({version_id})") from exc
            raise StorageUnavailableError(str(exc), dependency="s3") from exc
        except BotoCoreError as exc:
            raise StorageUnavailableError(str(exc), dependency="s3") from exc

    async def delete_all_versions(self, key: str) -> int:
        """Remove every version and delete marker of ``key`` (repeatable: a second call
        finds nothing); returns how many were removed."""
        removed = 0
        while True:
            with _storage_errors():
                response = await self._s3.list_object_versions(
                    Bucket=self.bucket, Prefix=key, MaxKeys=1000
                )
            entries = [*response.get("Versions", []), *response.get("DeleteMarkers", [])]
            doomed: list[ObjectIdentifierTypeDef] = [
                {"Key": key, "VersionId": entry["VersionId"]}
                for entry in entries
                if entry.get("Key") == key and entry.get("VersionId")
            ]
            if not doomed:
                return removed
            with _storage_errors():
                result = await self._s3.delete_objects(
                    Bucket=self.bucket, Delete={"Objects": doomed, "Quiet": True}
                )
            if result.get("Errors"):
                raise StorageUnavailableError(
                    f"s3://{self.bucket}/{key}: {result['Errors'][0]}", dependency="s3"
                )
            removed += len(doomed)

    async def delete_version(self, key: str, version_id: str | None) -> None:
        """Remove one version for good: undoing an upload that could not be recorded."""
        with _storage_errors():
            if version_id:
                await self._s3.delete_object(Bucket=self.bucket, Key=key, VersionId=version_id)
            else:  # an unversioned object: deleting the key is all there is
                await self._s3.delete_object(Bucket=self.bucket, Key=key)

    async def download_url(self, key: str, version_id: str | None, expires_in: int) -> str:
        params = {"Bucket": self.bucket, "Key": key}
        if version_id:
            params["VersionId"] = version_id
        with _storage_errors():
            url = await self._s3.generate_presigned_url(
                "get_object", Params=params, ExpiresIn=expires_in
            )
        return str(url)
