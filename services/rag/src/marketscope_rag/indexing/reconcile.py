"""Bringing the index back in line with the table at start.

The Chroma directory is a projection of the ``Document#`` streams, kept on its own disk:
it can outlive the table (a fresh emulator, a restored backup) and then holds chunks of
documents that no longer exist, or lose its volume while the table keeps saying what is
indexed. At start a background job compares the two and repairs the index:

- chunks of a document the table does not know, or that is deleted, are removed;
- a document whose indexed version (``indexed_version_id``, ``chunk_count``) is not
  exactly what the index holds (chunks missing, or chunks of another version) is restored
  through `Indexer.restore`, which re-embeds that version and drops its other chunks;
- chunks of the version being indexed right now are the indexer's, and left to it.

The owners' lists give a cheap first pass; every document found out of line is loaded
from its stream before anything is changed, and looked at again after a restore if its
stream moved meanwhile (an upload or a delete racing the job), so the job and the
indexing consumer can run at the same time. Restoring appends no event: the stream is
already right, only its projection was not.

Progress is logged and shown by `/readyz` under the ``index`` check, which never fails:
the service serves (the old index, minus what was removed) while it runs.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from dataclasses import dataclass
from enum import StrEnum

from marketscope_rag.documents.state import DocumentState, DocumentStatus
from marketscope_rag.indexing.indexer import DocumentUnreadableError, Indexer
from marketscope_rag.search.records import ChunkRecord
from marketscope_rag.search.retrieval import ChunkIndex
from marketscope_rag.search.vector_index import VectorIndex
from marketscope_rag.store import DocumentRepository
from marketscope_servicekit import ReadinessCheck

logger = logging.getLogger(__name__)

READINESS_NAME = "index"
# How often one document is looked at again when its stream keeps moving under the job.
MAX_ATTEMPTS = 3

ChunkKey = tuple[str | None, int]  # (S3 version id, chunk index)


class ReconcileStatus(StrEnum):
    WAITING = "waiting"  # not started, or retrying after the table did not answer
    RECONCILING = "reconciling"
    RECONCILED = "reconciled"


@dataclass
class ReconcileProgress:
    """Counts so far: chunks removed, documents restored, documents still to look at,
    documents that could not be restored (their object version is gone or unreadable)."""

    status: ReconcileStatus = ReconcileStatus.WAITING
    removed: int = 0
    reindexed: int = 0
    pending: int = 0
    failed: int = 0

    def describe(self) -> str:
        return (
            f"{self.status.value}: removed {self.removed}, reindexed {self.reindexed}, "
            f"pending {self.pending}, failed {self.failed}"
        )


def expected_chunks(state: DocumentState | None) -> set[ChunkKey]:
    """The chunks the index must hold for a document in ``state``."""
    if state is None or state.deleted or state.indexed_version_id is None:
        return set()
    return {(state.indexed_version_id, index) for index in range(state.chunk_count or 0)}


def in_progress(state: DocumentState | None, chunks: set[ChunkKey]) -> bool:
    """Whether the indexer is writing the current version: its chunks are the indexer's,
    and its swap will drop the document's other chunks anyway."""
    if state is None or state.status not in (DocumentStatus.UPLOADED, DocumentStatus.INDEXING):
        return False
    if state.version_id == state.indexed_version_id:
        return False
    return any(version == state.version_id for version, _ in chunks)


def in_line(state: DocumentState | None, chunks: set[ChunkKey]) -> bool:
    return in_progress(state, chunks) or chunks == expected_chunks(state)


def _keys(records: list[ChunkRecord]) -> set[ChunkKey]:
    return {(record.version_id, record.chunk_index) for record in records}


class IndexReconciler:
    def __init__(
        self,
        repository: DocumentRepository,
        vectors: VectorIndex,
        index: ChunkIndex,
        indexer: Indexer,
    ) -> None:
        self._repository = repository
        self._vectors = vectors
        self._index = index
        self._indexer = indexer
        self.progress = ReconcileProgress()

    def readiness_check(self) -> ReadinessCheck:
        return ProgressCheck(self.progress)

    async def run(self, stop: asyncio.Event) -> None:
        """The background job: reconcile once, then return (BackgroundTasks retries it
        with backoff if the table does not answer yet)."""
        try:
            await self.reconcile(stop)
        except BaseException:
            self.progress.status = ReconcileStatus.WAITING
            raise

    async def reconcile(self, stop: asyncio.Event | None = None) -> ReconcileProgress:
        progress = self.progress
        progress.status = ReconcileStatus.RECONCILING
        # The index first: a chunk in it was written after its stream existed, so a
        # stream missing when loaded later was never there or is gone.
        stored = await asyncio.to_thread(self._vectors.all_records)
        indexed: dict[str, set[ChunkKey]] = defaultdict(set)
        for record in stored:
            indexed[record.document_id].add((record.version_id, record.chunk_index))
        views = {state.document_id: state for state in await self._repository.list_all()}
        candidates = [
            document_id
            for document_id in sorted(indexed.keys() | views.keys())
            if not in_line(views.get(document_id), indexed.get(document_id, set()))
        ]
        progress.pending = len(candidates)
        logger.info(
            "reconciling index with the table",
            extra={
                "chunks": len(stored),
                "documents": len(views),
                "out_of_line": len(candidates),
            },
        )
        for document_id in candidates:
            if stop is not None and stop.is_set():
                return progress
            await self._reconcile_document(document_id)
            progress.pending -= 1
            logger.info(
                "reconciled document",
                extra={
                    "document_id": document_id,
                    "removed": progress.removed,
                    "reindexed": progress.reindexed,
                    "remaining": progress.pending,
                },
            )
        progress.status = ReconcileStatus.RECONCILED
        logger.info(
            "index reconciled",
            extra={
                "removed": progress.removed,
                "reindexed": progress.reindexed,
                "failed": progress.failed,
                "chunks": len(self._index),
            },
        )
        return progress

    async def _reconcile_document(self, document_id: str) -> None:
        for _ in range(MAX_ATTEMPTS):
            state = await self._repository.load(document_id)
            chunks = _keys(await asyncio.to_thread(self._index.chunks_of, document_id))
            if in_line(state, chunks):
                return
            if not expected_chunks(state):
                removed = await asyncio.to_thread(self._index.remove_document, document_id)
                self.progress.removed += removed
                logger.info(
                    "removed chunks of a document the table does not index",
                    extra={"document_id": document_id, "chunks": removed},
                )
                return
            assert state is not None
            try:
                await self._indexer.restore(state)
            except DocumentUnreadableError as exc:
                self.progress.failed += 1
                logger.warning(
                    "cannot restore an indexed document",
                    extra={"document_id": document_id, "error": str(exc)},
                )
                return
            self.progress.removed += len(chunks - expected_chunks(state))
            self.progress.reindexed += 1
            # An upload or a delete while it was restored: look at it once more.
            latest = await self._repository.load(document_id)
            if latest is not None and latest.stream_version == state.stream_version:
                return
        logger.warning(
            "document kept changing while the index was reconciled",
            extra={"document_id": document_id},
        )


class ProgressCheck(ReadinessCheck):
    """The ``index`` readiness check: it always passes (the service serves while the
    index is reconciled) and its name carries the progress, the one text a passing check
    reports, e.g. ``index (reconciling: removed 12, reindexed 1, pending 3, failed 0)``."""

    def __init__(self, progress: ReconcileProgress) -> None:
        object.__setattr__(self, "probe", _passes)
        object.__setattr__(self, "_progress", progress)

    @property
    def name(self) -> str:
        progress: ReconcileProgress = self.__dict__["_progress"]
        return f"{READINESS_NAME} ({progress.describe()})"


async def _passes() -> None:
    return None
