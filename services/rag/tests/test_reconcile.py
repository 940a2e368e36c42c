"""Reconciling the index with the table at start, on the emulator: an index that outlived
its table (orphan documents, stale versions, deleted documents) is cleaned, an index that
lost its volume is restored, and restarts on one index converge instead of piling up."""

from __future__ import annotations

import asyncio
import dataclasses
import time
import uuid
from pathlib import Path

import pytest

from marketscope_rag.documents.state import stream_id
from marketscope_rag.embeddings.base import Embedder
from marketscope_rag.indexing.reconcile import ReconcileProgress, ReconcileStatus
from marketscope_rag.search.records import ChunkRecord
from marketscope_rag.search.vector_index import VectorIndex
from marketscope_rag.store import DocumentRepository

from .conftest import MakeRag, Rag, user

pytestmark = pytest.mark.integration

GUIDE = b"""# Liquidity guide

## Zebra ratio

The zebra ratio of a company is cash divided by striped liabilities; above 1.3 is healthy.

## Quagga spread

The quagga spread compares the bid of a thinly traded share with its ask; wide is risky.
"""

OTHER = b"""# Momentum notes

## Okapi trend

An okapi trend is a moving average of closing prices crossing its slower sibling.
"""


async def wait_reconciled(rag: Rag, within: float = 120) -> ReconcileProgress:
    """Poll `/readyz` until its ``index`` check says reconciled; it passes all along."""
    deadline = time.monotonic() + within
    while True:
        response = await rag.client.get("/readyz")
        assert response.status_code == 200, response.text
        names = [check["name"] for check in response.json()["checks"]]
        [index_check] = [name for name in names if name.startswith("index (")]
        if index_check.startswith("index (reconciled:"):
            progress = rag.components.reconciler.progress
            assert progress.status is ReconcileStatus.RECONCILED
            assert index_check == f"index ({progress.describe()})"
            return progress
        if time.monotonic() > deadline:
            raise AssertionError(f"index not reconciled: {index_check}")
        await asyncio.sleep(0.2)


async def indexed(rag: Rag, owner: str, filename: str, data: bytes) -> dict[str, object]:
    response = await rag.upload(owner, filename, data)
    assert response.status_code == 202, response.text
    document_id = response.json()["document_id"]
    return await rag.wait_for(owner, document_id, {"indexed"})


def plant(path: Path, embedder: Embedder, records: list[ChunkRecord]) -> None:
    """Write chunks straight into a closed index directory, as an older table left them."""
    vectors = VectorIndex(path, embedder)
    try:
        vectors.add(records, embedder.embed([record.search_text for record in records]))
    finally:
        vectors.close()


def stored_chunks(path: Path, embedder: Embedder) -> list[ChunkRecord]:
    vectors = VectorIndex(path, embedder)
    try:
        return vectors.all_records()
    finally:
        vectors.close()


def as_document(records: list[ChunkRecord], document_id: str, version: str) -> list[ChunkRecord]:
    return [
        dataclasses.replace(
            record,
            chunk_id=f"{document_id}:{version}:{record.chunk_index}",
            document_id=document_id,
            version_id=version,
        )
        for record in records
    ]


def keys(records: list[ChunkRecord]) -> list[tuple[str | None, int]]:
    return [(record.version_id, record.chunk_index) for record in records]


def expected_keys(document: dict[str, object]) -> list[tuple[str | None, int]]:
    count = document["chunk_count"]
    assert isinstance(count, int)
    assert count >= 2
    return [(str(document["version_id"]), index) for index in range(count)]


async def test_orphan_and_stale_chunks_are_removed_at_start(
    make_rag: MakeRag, tmp_path: Path
) -> None:
    path = tmp_path / "chroma"
    alice = user()
    async with make_rag(reconcile_index_at_start=True, index_path=path) as rag:
        await wait_reconciled(rag)
        document = await indexed(rag, alice, "liquidity.md", GUIDE)
        document_id = str(document["document_id"])
        live = rag.components.index.chunks_of(document_id)
        embedder = rag.components.index.embedder
    assert keys(live) == expected_keys(document)
    ghost = f"ghost-{uuid.uuid4().hex[:8]}"
    orphans = as_document(live, ghost, "gone-version")
    stale = as_document(live, document_id, "stale-version")
    plant(path, embedder, orphans + stale)

    async with make_rag(reconcile_index_at_start=True, index_path=path) as rag:
        progress = await wait_reconciled(rag)
        index = rag.components.index
        assert index.chunks_of(ghost) == []
        assert keys(index.chunks_of(document_id)) == expected_keys(document)
        assert progress.removed >= len(orphans) + len(stale)
        assert progress.pending == 0
        # What users saw: the same text cited several times, from documents that 404.
        # Shared documents other tests left in the table are visible too: look at these two.
        scope = {"k": 10, "document_ids": [document_id, ghost]}
        hits = (await rag.search(alice, "which zebra ratio is healthy?", **scope)).json()["hits"]
        cited = [(hit["citation"]["document_id"], hit["citation"]["chunk_index"]) for hit in hits]
        assert cited
        assert {document_id for document_id, _ in cited} == {document_id}
        assert len(cited) == len(set(cited))
        assert (await rag.get(alice, document_id)).json()["status"] == "indexed"


async def test_a_lost_index_volume_is_restored_at_start(make_rag: MakeRag, tmp_path: Path) -> None:
    alice = user()
    async with make_rag(reconcile_index_at_start=True, index_path=tmp_path / "first") as rag:
        document = await indexed(rag, alice, "liquidity.md", GUIDE)
        document_id = str(document["document_id"])
        before = rag.components.index.chunks_of(document_id)
        events = await rag.components.store.read(stream_id(document_id))

    async with make_rag(reconcile_index_at_start=True, index_path=tmp_path / "empty") as rag:
        progress = await wait_reconciled(rag)
        assert progress.reindexed >= 1
        restored = rag.components.index.chunks_of(document_id)
        assert keys(restored) == expected_keys(document)
        assert [record.text for record in restored] == [record.text for record in before]
        assert [record.chunk_id for record in restored] == [record.chunk_id for record in before]
        # Restoring a projection appends nothing to the stream.
        after = await rag.components.store.read(stream_id(document_id))
        assert [event.id for event in after] == [event.id for event in events]
        assert (await rag.get(alice, document_id)).json()["status"] == "indexed"
        query = "quagga spread of a thinly traded share"
        hits = (await rag.search(alice, query, document_ids=[document_id])).json()["hits"]
        assert hits[0]["citation"]["document_id"] == document_id


async def test_restarts_on_one_index_keep_the_expected_chunks(
    make_rag: MakeRag, tmp_path: Path
) -> None:
    path = tmp_path / "chroma"
    alice = user()
    async with make_rag(reconcile_index_at_start=True, index_path=path) as rag:
        kept = await indexed(rag, alice, "liquidity.md", GUIDE)
        gone = await indexed(rag, alice, "momentum.md", OTHER)
        kept_id, gone_id = str(kept["document_id"]), str(gone["document_id"])
        gone_chunks = rag.components.index.chunks_of(gone_id)
        embedder = rag.components.index.embedder
        deleted = await rag.client.delete(f"/documents/{gone_id}", headers=rag.headers(alice))
        assert deleted.status_code == 204
        assert rag.components.index.chunks_of(gone_id) == []
    # The deleted document's chunks back in the index, as if removing them had been lost.
    assert gone_chunks
    plant(path, embedder, gone_chunks)

    totals: list[int] = []
    for restart in range(3):
        async with make_rag(reconcile_index_at_start=True, index_path=path) as rag:
            progress = await wait_reconciled(rag)
            index = rag.components.index
            assert keys(index.chunks_of(kept_id)) == expected_keys(kept)
            assert index.chunks_of(gone_id) == []
            if restart == 0:
                assert progress.removed >= len(gone_chunks)
            else:
                assert (progress.removed, progress.reindexed) == (0, 0)
            totals.append(len(index))
            components = rag.components
            repository = DocumentRepository(
                components.store,
                await components.aws.client("dynamodb"),
                components.settings.table_name,
            )
            states = {state.document_id: state for state in await repository.list_all()}
        # Every chunk left is one of a version the table says is indexed.
        stored = stored_chunks(path, embedder)
        assert len(stored) == totals[-1]
        for record in stored:
            state = states[record.document_id]
            assert not state.deleted
            assert record.version_id == state.indexed_version_id
            assert record.chunk_index < (state.chunk_count or 0)
    assert totals[0] == totals[1] == totals[2]
