"""Indexing one uploaded document version: read that exact object version, extract,
chunk, embed, swap its chunks into the index, and record DocumentIndexed.

What it costs is bounded before it is spent: a version of more than
``max_document_chunks`` chunks, or one whose chunks do not fit the owner's chunk quota
(reserved in `UsageLedger` before embedding), fails with that reason. The CPU-bound steps
take `FairTurns`: extraction is one turn, embedding one turn per ``slice_chunks`` chunks,
so owners indexing at the same time take turns slice by slice.

Each step checks the stream first, so a redelivered, superseded or deleted upload does
no harm: a version already indexed is skipped, a version no longer current is left to
its successor's event, a deleted document has its chunks removed.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import NoReturn

import numpy as np

from marketscope_events import CATALOG, EventData
from marketscope_events.catalog import (
    DocumentIndexed,
    DocumentIndexingFailed,
    DocumentIndexingStarted,
    DocumentUploaded,
)
from marketscope_events.timeutil import Clock, utc_now
from marketscope_rag.documents.objects import DocumentObjects, ObjectMissingError
from marketscope_rag.documents.state import DocumentState, DocumentStatus, stream_id
from marketscope_rag.embeddings.base import Vectors
from marketscope_rag.errors import ChunkQuotaExceededError, ExtractionError, RagError
from marketscope_rag.indexing.chunking import Chunker
from marketscope_rag.indexing.extraction import extract_text
from marketscope_rag.indexing.turns import FairTurns
from marketscope_rag.quotas.usage import UsageLedger
from marketscope_rag.search.records import ChunkRecord
from marketscope_rag.search.retrieval import ChunkIndex
from marketscope_rag.store import DocumentRepository
from marketscope_servicekit import MetricsRecorder

logger = logging.getLogger(__name__)


class DocumentUnreadableError(RagError):
    """The document version cannot be indexed, ever: its status is now ``failed``."""


@dataclass(frozen=True)
class IndexingResult:
    document_id: str
    outcome: str  # indexed, skipped, removed
    chunk_count: int = 0


@dataclass(frozen=True)
class IndexingLimits:
    max_document_chunks: int
    slice_chunks: int


class Indexer:
    def __init__(
        self,
        repository: DocumentRepository,
        objects: DocumentObjects,
        index: ChunkIndex,
        chunker: Chunker,
        *,
        usage: UsageLedger,
        turns: FairTurns,
        limits: IndexingLimits,
        metrics: MetricsRecorder | None = None,
        clock: Clock = utc_now,
    ) -> None:
        self._repository = repository
        self._objects = objects
        self._index = index
        self._chunker = chunker
        self._usage = usage
        self._turns = turns
        self._limits = limits
        self._metrics = metrics
        self._clock = clock

    async def index(self, uploaded: DocumentUploaded) -> IndexingResult:
        document_id = uploaded.document_id
        state = await self._repository.load(document_id)
        if state is None:
            raise DocumentUnreadableError(f"document {document_id} has no stream")
        if state.deleted:
            await asyncio.to_thread(self._index.remove_document, document_id)
            return IndexingResult(document_id, "removed")
        if state.version_id != uploaded.version_id or (
            state.indexed_version_id == uploaded.version_id
            and state.status is DocumentStatus.INDEXED
        ):
            return IndexingResult(document_id, "skipped")
        if state.status is DocumentStatus.FAILED:
            raise DocumentUnreadableError(state.failure_reason or "indexing failed")
        started = time.perf_counter()
        if state.status is not DocumentStatus.INDEXING:
            started_event = DocumentIndexingStarted(
                document_id=document_id, version_id=state.version_id
            )
            state = await self._record(state, started_event)
        try:
            data = await self._objects.get(state.key, state.version_id)
            records = await self._turns.run(state.owner, self._prepare, state, data)
        except (ExtractionError, ObjectMissingError) as exc:
            await self._fail(state, str(exc))
        if len(records) > self._limits.max_document_chunks:
            await self._fail(
                state, f"too many chunks ({len(records)} > {self._limits.max_document_chunks})"
            )
        # The index drops the previous version's chunks: only the difference is new usage.
        added = len(records) - (state.chunk_count or 0)
        try:
            if added > 0:
                await self._usage.reserve_chunks(state.owner, added)
        except ChunkQuotaExceededError as exc:
            reason = f"chunk quota exceeded ({exc.used} + {exc.requested} > {exc.limit})"
            await self._fail(state, reason)
        try:
            state = await self._embed_and_record(state, records, started)
        except BaseException:
            if added > 0:
                await self._usage.release(state.owner, chunks=added)
            raise
        if added < 0:
            await self._usage.release(state.owner, chunks=-added)
        return IndexingResult(document_id, "indexed", len(records))

    async def restore(self, state: DocumentState) -> int:
        """Put the chunks of the version ``state`` says is indexed back into the index (it
        lost them, or holds other chunks of the document): that object version is read,
        chunked and embedded as `index` does, and swapped in, which drops every other
        chunk of the document. Nothing is appended: the stream already records this
        version as indexed, and its chunks are already counted in the owner's quota.

        Raises `DocumentUnreadableError` when the object version is gone or unreadable.
        """
        version_id = state.indexed_version_id
        if version_id is None:
            raise ValueError(f"document {state.document_id} has no indexed version")
        # Chunks cite the version they were cut from, not the latest upload.
        indexed = state.model_copy(update={"version_id": version_id})
        try:
            data = await self._objects.get(indexed.key, version_id)
            records = await self._turns.run(indexed.owner, self._prepare, indexed, data)
        except (ExtractionError, ObjectMissingError) as exc:
            raise DocumentUnreadableError(str(exc)) from exc
        vectors = await self._embed(indexed.owner, [record.search_text for record in records])
        await asyncio.to_thread(self._index.replace_document, state.document_id, records, vectors)
        if len(records) != state.chunk_count:
            # Chunking settings changed since it was indexed: the quota counts the old number.
            logger.warning(
                "restored document has a different chunk count",
                extra={
                    "document_id": state.document_id,
                    "chunks": len(records),
                    "recorded": state.chunk_count,
                },
            )
        return len(records)

    async def _fail(self, state: DocumentState, reason: str) -> NoReturn:
        failed = DocumentIndexingFailed(
            document_id=state.document_id, version_id=state.version_id, reason=reason
        )
        await self._record(state, failed)
        raise DocumentUnreadableError(reason)

    async def _embed(self, owner: str, texts: list[str]) -> Vectors:
        """The texts' vectors, one turn per slice: other owners' work runs in between."""
        size = self._limits.slice_chunks
        slices = [
            await self._turns.run(owner, self._index.embed, texts[start : start + size])
            for start in range(0, len(texts), size)
        ]
        return np.concatenate(slices) if slices else np.empty((0, 0), dtype=np.float32)

    async def _embed_and_record(
        self, state: DocumentState, records: list[ChunkRecord], started: float
    ) -> DocumentState:
        document_id = state.document_id
        vectors = await self._embed(state.owner, [record.search_text for record in records])
        await asyncio.to_thread(self._index.replace_document, document_id, records, vectors)
        duration_ms = int((time.perf_counter() - started) * 1000)
        indexed = DocumentIndexed(
            document_id=document_id,
            owner=state.owner,
            version_id=state.version_id,
            chunk_count=len(records),
            embedding_model=self._index.model,
            duration_ms=duration_ms,
            indexed_at=self._clock(),
        )
        state = await self._repository.append(
            state, [CATALOG.new_event(indexed, subject=stream_id(document_id))], publish=True
        )
        if self._metrics is not None:
            self._metrics.record("IndexingDuration", duration_ms, unit="Milliseconds")
            self._metrics.increment("ChunksIndexed", len(records))
        logger.info(
            "indexed document",
            extra={"document_id": document_id, "chunks": len(records), "ms": duration_ms},
        )
        return state

    def _prepare(self, state: DocumentState, data: bytes) -> list[ChunkRecord]:
        text = extract_text(data, state.content_type)
        version = state.version_id or "unversioned"
        return [
            ChunkRecord(
                chunk_id=f"{state.document_id}:{version}:{chunk.index}",
                document_id=state.document_id,
                owner=state.owner,
                filename=state.filename,
                version_id=state.version_id,
                chunk_index=chunk.index,
                start=chunk.start,
                end=chunk.end,
                section=chunk.section,
                text=chunk.text,
                tags=tuple(state.tags),
            )
            for chunk in self._chunker.split(text)
        ]

    async def _record(self, state: DocumentState, event: EventData) -> DocumentState:
        """Append a stream-only event: only this service cares how indexing goes."""
        envelope = CATALOG.new_event(
            event, subject=stream_id(state.document_id), time=self._clock()
        )
        return await self._repository.append(state, [envelope], publish=False)
