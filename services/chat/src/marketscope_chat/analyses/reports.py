"""Where finished reports are kept: beside the analysis in the chat table, or, when they
are too large for an item, in S3 under the chat service's own prefix
(``chat/analyses/<id>/report.json`` and ``report.md``) with the item pointing there.

The report is written before AnalysisCompleted is appended, under a key made from the
analysis id: a worker that dies between the two writes the same report again.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from marketscope_chat.errors import StorageUnavailable
from marketscope_chat.store import storage_errors
from marketscope_servicekit.owned_index import Item

if TYPE_CHECKING:
    from types_aiobotocore_dynamodb import DynamoDBClient
    from types_aiobotocore_s3 import S3Client

# DynamoDB items hold 400 KB; a report past this goes to S3.
INLINE_LIMIT_BYTES = 200_000


@dataclass(frozen=True, slots=True)
class StoredReport:
    report: dict[str, Any]
    markdown: str
    location: str  # "table" or the S3 key prefix


class ReportStore:
    def __init__(
        self,
        dynamodb: DynamoDBClient,
        table_name: str,
        s3: S3Client,
        bucket: str,
        prefix: str,
        *,
        inline_limit: int = INLINE_LIMIT_BYTES,
    ) -> None:
        self._db = dynamodb
        self._table = table_name
        self._s3 = s3
        self._bucket = bucket
        self._prefix = prefix.rstrip("/") + "/"
        self._inline_limit = inline_limit

    def _key(self, analysis_id: str) -> Item:
        return {"pk": {"S": f"AnalysisReport#{analysis_id}"}, "sk": {"N": "0"}}

    def object_prefix(self, analysis_id: str) -> str:
        return f"{self._prefix}analyses/{analysis_id}/"

    async def put(
        self, analysis_id: str, report: dict[str, Any], markdown: str, *, expires_at: datetime
    ) -> str:
        """Store the report; returns where it went ("table" or the S3 prefix)."""
        body = json.dumps(report, ensure_ascii=False, separators=(",", ":"))
        item: Item = {
            **self._key(analysis_id),
            "expires_at": {"N": str(int(expires_at.timestamp()))},
        }
        if len(body.encode()) + len(markdown.encode()) <= self._inline_limit:
            item |= {"report": {"S": body}, "markdown": {"S": markdown}}
            location = "table"
        else:
            location = self.object_prefix(analysis_id)
            await self._put_object(location + "report.json", body, "application/json")
            await self._put_object(location + "report.md", markdown, "text/markdown")
            item["s3_prefix"] = {"S": location}
        with storage_errors():
            await self._db.put_item(TableName=self._table, Item=item)
        return location

    async def _put_object(self, key: str, text: str, content_type: str) -> None:
        try:
            await self._s3.put_object(
                Bucket=self._bucket,
                Key=key,
                Body=text.encode(),
                ContentType=f"{content_type}; charset=utf-8",
            )
        except (ClientError, BotoCoreError) as exc:
            raise StorageUnavailable(str(exc), dependency="s3") from exc

    async def _get_object(self, key: str) -> str:
        try:
            response = await self._s3.get_object(Bucket=self._bucket, Key=key)
            async with response["Body"] as stream:
                return (await stream.read()).decode()
        except (ClientError, BotoCoreError) as exc:
            raise StorageUnavailable(str(exc), dependency="s3") from exc

    async def get(self, analysis_id: str) -> StoredReport | None:
        with storage_errors():
            found = await self._db.get_item(
                TableName=self._table, Key=self._key(analysis_id), ConsistentRead=True
            )
        item = found.get("Item")
        if item is None:
            return None
        if "s3_prefix" in item:
            prefix = item["s3_prefix"]["S"]
            body = await self._get_object(prefix + "report.json")
            markdown = await self._get_object(prefix + "report.md")
            return StoredReport(json.loads(body), markdown, prefix)
        return StoredReport(json.loads(item["report"]["S"]), item["markdown"]["S"], "table")
