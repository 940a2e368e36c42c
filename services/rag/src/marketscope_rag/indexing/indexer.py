"""Indexing one uploaded document version: read that exact object version, extract,
chunk, embed, swap its chunks into the index, and record DocumentIndexed.

Each step checks the stream first, so a redelivered, superseded or deleted upload does
no harm: a version already indexed is skipped, a version no longer current is left to
its successor's event, a deleted document has its chunks removed.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass

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
from marketscope_rag.errors import ExtractionError, RagError
from marketscope_rag.indexing.chunking import Chunker
from marketscope_rag.indexing.extraction import extract_text
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


class Indexer:
    def __init__(
        self,
        repository: DocumentRepository,
        objects: DocumentObjects,
        index: ChunkIndex,
        chunker: Chunker,
        *,
        metrics: MetricsRecorder | None = None,
        clock: Clock = utc_now,
    ) -> None:
        self._repository = repository
        self._objects = objects
        self._index = index
        self._chunker = chunker
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
            records = await asyncio.to_thread(self._prepare, state, data)
        except (ExtractionError, ObjectMissingError) as exc:
            failed = DocumentIndexingFailed(
                document_id=document_id, version_id=state.version_id, reason=str(exc)
            )
            await self._record(state, failed)
            raise DocumentUnreadableError(str(exc)) from exc
        vectors = await asyncio.to_thread(self._index.embed, [r.search_text for r in records])
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
        await self._repository.append(
            state, [CATALOG.new_event(indexed, subject=stream_id(document_id))], publish=True
        )
        if self._metrics is not None:
            self._metrics.record("IndexingDuration", duration_ms, unit="Milliseconds")
            self._metrics.increment("ChunksIndexed", len(records))
        logger.info(
            "indexed document",
            extra={"document_id": document_id, "chunks": len(records), "ms": duration_ms},
        )
        return IndexingResult(document_id, "indexed", len(records))

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
