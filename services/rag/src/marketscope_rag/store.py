"""The rag table: document streams, the owners' document lists, the dedup index.

Items besides the event store's own (``Document#<id>`` streams, outbox, idempotency):

- ``Documents#<owner>`` / ``sk`` = creation time in microseconds: one item per document
  holding its latest folded state, so an owner's list is one query. It is a projection:
  written after every append, only ever forward (``stream_version`` grows).
- ``Dedup#<owner>#<sha256>`` / ``sk`` 0: which of the owner's documents has these bytes.
  Claimed with a conditional put before anything is stored, so two concurrent uploads of
  the same bytes make one document.

Streams are read through `StreamRepository`, so stored events are decoded (and upcast)
by the catalog before they are folded.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from marketscope_events import (
    CATALOG,
    ConcurrencyError,
    Envelope,
    EventsError,
    EventStore,
    StreamRepository,
)
from marketscope_events.aws_errors import error_code
from marketscope_rag.documents.state import DocumentState, fold, stream_id
from marketscope_rag.errors import ConflictError, StorageUnavailableError

if TYPE_CHECKING:
    from types_aiobotocore_dynamodb import DynamoDBClient
    from types_aiobotocore_dynamodb.type_defs import (
        AttributeValueTypeDef,
        QueryInputTypeDef,
        ScanInputTypeDef,
    )

# An upload takes seconds; a claim this old without a document is a dead upload's.
STALE_CLAIM_SECONDS = 120
_LOST_CONDITION = "ConditionalCheckFailedException"


def _micros(state: DocumentState) -> str:
    return str(int(state.created_at.timestamp() * 1_000_000))


def _dedup_key(owner: str, sha256: str) -> dict[str, AttributeValueTypeDef]:
    return {"pk": {"S": f"Dedup#{owner}#{sha256}"}, "sk": {"N": "0"}}


@contextmanager
def _storage_errors(*, tolerated: str | None = None) -> Iterator[None]:
    """DynamoDB failures become `StorageUnavailableError` (503); a failed condition named
    ``tolerated`` is an expected answer and passes silently."""
    try:
        yield
    except ClientError as exc:
        if tolerated is None or error_code(exc) != tolerated:
            raise StorageUnavailableError(str(exc), dependency="dynamodb") from exc
    except BotoCoreError as exc:
        raise StorageUnavailableError(str(exc), dependency="dynamodb") from exc


class DocumentRepository:
    def __init__(self, store: EventStore, dynamodb: DynamoDBClient, table_name: str) -> None:
        self._streams = StreamRepository[DocumentState](store, fold, catalog=CATALOG)
        self._db = dynamodb
        self._table = table_name

    async def load(self, document_id: str) -> DocumentState | None:
        try:
            loaded = await self._streams.load(stream_id(document_id))
        except EventsError as exc:
            raise StorageUnavailableError(str(exc), dependency="dynamodb") from exc
        return loaded.state if loaded is not None else None

    async def append(
        self, state: DocumentState | None, events: Sequence[Envelope], *, publish: bool
    ) -> DocumentState:
        """Append after ``state`` (None: a new stream) and refresh the owner's list."""
        document_id = state.document_id if state else str(events[0].data["document_id"])
        try:
            stored = await self._streams.append(
                stream_id(document_id),
                events,
                expected_version=state.stream_version if state else 0,
                publish=publish,
            )
        except ConcurrencyError as exc:
            raise ConflictError(f"document {document_id} changed meanwhile; retry") from exc
        except EventsError as exc:
            raise StorageUnavailableError(str(exc), dependency="dynamodb") from exc
        new_state = state
        for envelope in stored:
            new_state = fold(new_state, CATALOG.decode(envelope))
        assert new_state is not None
        await self._write_view(new_state)
        return new_state

    async def _write_view(self, state: DocumentState) -> None:
        # A newer view already written wins: the condition failing is fine.
        with _storage_errors(tolerated=_LOST_CONDITION):
            await self._db.put_item(
                TableName=self._table,
                Item={
                    "pk": {"S": f"Documents#{state.owner}"},
                    "sk": {"N": _micros(state)},
                    "document_id": {"S": state.document_id},
                    "stream_version": {"N": str(state.stream_version)},
                    "state": {"S": state.model_dump_json()},
                },
                ConditionExpression="attribute_not_exists(pk) OR stream_version < :v",
                ExpressionAttributeValues={":v": {"N": str(state.stream_version)}},
            )

    async def list_owned(self, owner: str) -> list[DocumentState]:
        states: list[DocumentState] = []
        request: QueryInputTypeDef = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": {"S": f"Documents#{owner}"}},
        }
        while True:
            with _storage_errors():
                response = await self._db.query(**request)
            states += [
                DocumentState.model_validate_json(item["state"]["S"])
                for item in response.get("Items", [])
            ]
            if "LastEvaluatedKey" not in response:
                return states
            request["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    async def list_all(self) -> list[DocumentState]:
        """Every owner's documents (deleted ones included), from the owners' lists: one
        scan of the table, for work that must see all documents at once (reconciling the
        index with the table at start)."""
        states: list[DocumentState] = []
        request: ScanInputTypeDef = {
            "TableName": self._table,
            "FilterExpression": "begins_with(pk, :prefix)",
            "ExpressionAttributeValues": {":prefix": {"S": "Documents#"}},
            "ProjectionExpression": "#state",
            "ExpressionAttributeNames": {"#state": "state"},
        }
        while True:
            with _storage_errors():
                response = await self._db.scan(**request)
            states += [
                DocumentState.model_validate_json(item["state"]["S"])
                for item in response.get("Items", [])
            ]
            if "LastEvaluatedKey" not in response:
                return states
            request["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    async def claim_bytes(self, owner: str, sha256: str, document_id: str) -> str | None:
        """Record that ``document_id`` holds these bytes; when another document already
        does, return its id instead (None: the claim is ours)."""
        try:
            await self._db.put_item(
                TableName=self._table,
                Item={
                    **_dedup_key(owner, sha256),
                    "document_id": {"S": document_id},
                    "claimed_at": {"N": str(int(time.time()))},
                },
                ConditionExpression="attribute_not_exists(pk)",
            )
            return None
        except ClientError as exc:
            if error_code(exc) != _LOST_CONDITION:
                raise StorageUnavailableError(str(exc), dependency="dynamodb") from exc
        except BotoCoreError as exc:
            raise StorageUnavailableError(str(exc), dependency="dynamodb") from exc
        with _storage_errors():
            response = await self._db.get_item(
                TableName=self._table, Key=_dedup_key(owner, sha256), ConsistentRead=True
            )
        item = response.get("Item")
        # Released between our put and get: try once more rather than report nobody.
        if item is None:
            return await self.claim_bytes(owner, sha256, document_id)
        return str(item["document_id"]["S"])

    async def claim_is_stale(self, owner: str, sha256: str) -> bool:
        """A claim whose document never got its first event (its upload died midway)."""
        with _storage_errors():
            response = await self._db.get_item(
                TableName=self._table, Key=_dedup_key(owner, sha256), ConsistentRead=True
            )
        claimed_at = response.get("Item", {}).get("claimed_at", {}).get("N")
        return claimed_at is None or time.time() - float(claimed_at) > STALE_CLAIM_SECONDS

    async def release_bytes(self, owner: str, sha256: str, document_id: str) -> None:
        """Forget the claim, if it is still ``document_id``'s."""
        with _storage_errors(tolerated=_LOST_CONDITION):
            await self._db.delete_item(
                TableName=self._table,
                Key=_dedup_key(owner, sha256),
                ConditionExpression="document_id = :id",
                ExpressionAttributeValues={":id": {"S": document_id}},
            )
