"""The rag table on the emulator: document streams folded through the catalog (streams
written before the stream-only events joined the catalog included), the owners' lists,
the dedup claims, and AWS out of reach as a 503."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from marketscope_events import CATALOG, DynamoDBEventStore, Envelope
from marketscope_events.catalog import DocumentIndexed
from marketscope_platform.aws import AwsClients
from marketscope_rag.documents.state import DocumentStatus, stream_id
from marketscope_rag.errors import ConflictError, StorageUnavailableError
from marketscope_rag.settings import Settings
from marketscope_rag.store import DocumentRepository
from marketscope_servicekit.testing import unreachable_aws

from .fakes import uploaded

pytestmark = pytest.mark.integration

TABLE = Settings().table_name
AT = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)


@pytest.fixture
async def repository(provisioned: str, aws: AwsClients) -> DocumentRepository:
    dynamodb = await aws.client("dynamodb")
    return DocumentRepository(DynamoDBEventStore(dynamodb, TABLE), dynamodb, TABLE)


def document_id() -> str:
    return f"doc-{uuid.uuid4().hex[:12]}"


def legacy_event(name: str, document: str, data: dict[str, Any]) -> Envelope:
    """A stream-only event exactly as the service wrote it before the catalog had it."""
    return Envelope(
        id=str(uuid.uuid4()),
        source="/marketscope/rag",
        type=f"marketscope.rag.{name}.v1",
        time=AT,
        subject=stream_id(document),
        data=data,
        dataversion=1,
    )


async def test_streams_written_by_the_old_code_still_fold(
    repository: DocumentRepository, aws: AwsClients
) -> None:
    store = DynamoDBEventStore(await aws.client("dynamodb"), TABLE)
    failed_id, indexed_id = document_id(), document_id()
    for document, later in [
        (failed_id, ("DocumentIndexingFailed", {"reason": "unreadable PDF: no pages"})),
        (indexed_id, None),
    ]:
        events = [
            CATALOG.new_event(uploaded(document), subject=stream_id(document)),
            legacy_event(
                "DocumentIndexingStarted", document, {"document_id": document, "version_id": "v1"}
            ),
        ]
        if later is not None:
            name, extra = later
            events.append(
                legacy_event(name, document, {"document_id": document, "version_id": "v1", **extra})
            )
        await store.append(stream_id(document), events, expected_version=0, publish=False)

    failed = await repository.load(failed_id)
    assert failed is not None
    assert failed.status is DocumentStatus.FAILED
    assert failed.failure_reason == "unreadable PDF: no pages"
    assert failed.stream_version == 3
    indexing = await repository.load(indexed_id)
    assert indexing is not None
    assert indexing.status is DocumentStatus.INDEXING
    assert indexing.updated_at == AT

    indexed = DocumentIndexed(
        document_id=indexed_id,
        owner="alice",
        version_id="v1",
        chunk_count=3,
        embedding_model="test-model",
        duration_ms=5,
        indexed_at=AT,
    )
    state = await repository.append(
        indexing, [CATALOG.new_event(indexed, subject=stream_id(indexed_id))], publish=False
    )
    assert (state.status, state.chunk_count, state.stream_version) == (DocumentStatus.INDEXED, 3, 3)
    assert await repository.load(indexed_id) == state


async def test_appends_keep_the_owners_list_current_and_refuse_stale_writers(
    repository: DocumentRepository,
) -> None:
    owner = f"owner-{uuid.uuid4().hex[:8]}"
    document = document_id()
    event = uploaded(document).model_copy(update={"owner": owner})
    first = await repository.append(
        None, [CATALOG.new_event(event, subject=stream_id(document))], publish=False
    )
    assert [s.document_id for s in await repository.list_owned(owner)] == [document]
    second = await repository.append(
        first, [CATALOG.new_event(event, subject=stream_id(document))], publish=False
    )
    assert second.versions == 2
    assert await repository.list_owned(owner) == [second]
    with pytest.raises(ConflictError):
        await repository.append(
            first, [CATALOG.new_event(event, subject=stream_id(document))], publish=False
        )


async def test_one_document_holds_the_same_bytes(repository: DocumentRepository) -> None:
    owner, sha256 = f"owner-{uuid.uuid4().hex[:8]}", uuid.uuid4().hex * 2
    assert await repository.claim_bytes(owner, sha256, "doc-a") is None
    assert await repository.claim_bytes(owner, sha256, "doc-b") == "doc-a"
    await repository.release_bytes(owner, sha256, "doc-b")  # not doc-b's: kept
    assert await repository.claim_bytes(owner, sha256, "doc-c") == "doc-a"
    assert not await repository.claim_is_stale(owner, sha256)
    await repository.release_bytes(owner, sha256, "doc-a")
    assert await repository.claim_bytes(owner, sha256, "doc-c") is None


async def test_dynamodb_out_of_reach_is_storage_unavailable() -> None:
    async with AwsClients(unreachable_aws()) as aws:
        dynamodb = await aws.client("dynamodb")
        repository = DocumentRepository(DynamoDBEventStore(dynamodb, TABLE), dynamodb, TABLE)
        with pytest.raises(StorageUnavailableError) as raised:
            await repository.list_owned("alice")
        assert raised.value.status == 503
        with pytest.raises(StorageUnavailableError):
            await repository.load("doc-1")
