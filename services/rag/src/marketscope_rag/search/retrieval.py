"""Hybrid retrieval over one set of chunks: vectors (Chroma) and BM25, fused by
reciprocal rank fusion.

RRF (Cormack et al., 2009) adds ``1 / (60 + rank)`` over the lists a chunk appears in: it
needs no score calibration between cosine similarities and BM25 scores, which live on
unrelated scales. Each list contributes its top ``max(4k, 30)`` visible chunks.

`ChunkIndex` is the only writer of its Chroma directory; its methods block and are meant
for a worker thread. Writes are serialised by a lock; searches read an immutable BM25
snapshot and Chroma, which serves concurrent reads.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from marketscope_rag.embeddings.base import Embedder, Vectors
from marketscope_rag.search.lexical_index import LexicalSnapshot, tokenize
from marketscope_rag.search.records import TAG_KEY, ChunkRecord
from marketscope_rag.search.vector_index import VectorIndex, Where

SearchMode = Literal["hybrid", "vector", "bm25"]
RRF_K = 60


@dataclass(frozen=True)
class Hit:
    record: ChunkRecord
    score: float
    vector_rank: int | None
    lexical_rank: int | None


class ChunkIndex:
    def __init__(self, vectors: VectorIndex, embedder: Embedder) -> None:
        self._vectors = vectors
        self.embedder = embedder
        self._write = threading.Lock()
        self._records = {record.chunk_id: record for record in vectors.all_records()}
        self._tokens = {cid: tokenize(r.search_text) for cid, r in self._records.items()}
        self._snapshot: LexicalSnapshot | None = None

    @classmethod
    def open(cls, path: Path, embedder: Embedder) -> ChunkIndex:
        return cls(VectorIndex(path, embedder), embedder)

    def close(self) -> None:
        self._vectors.close()

    @property
    def model(self) -> str:
        return self.embedder.model

    def __len__(self) -> int:
        return len(self._records)

    def chunks_of(self, document_id: str) -> list[ChunkRecord]:
        with self._write:
            found = [r for r in self._records.values() if r.document_id == document_id]
        return sorted(found, key=lambda record: record.chunk_index)

    def embed(self, texts: Sequence[str]) -> Vectors:
        return self.embedder.embed(texts)

    def replace_document(
        self, document_id: str, records: Sequence[ChunkRecord], vectors: Vectors
    ) -> None:
        """Add a version's chunks, then drop the document's other chunks: searches see the
        old version until the new one is complete, never neither."""
        with self._write:
            self._vectors.add(records, vectors)
            new_ids = {record.chunk_id for record in records}
            for record in records:
                self._records[record.chunk_id] = record
                self._tokens[record.chunk_id] = tokenize(record.search_text)
            self._drop(
                [
                    chunk_id
                    for chunk_id, record in self._records.items()
                    if record.document_id == document_id and chunk_id not in new_ids
                ]
            )

    def remove_document(self, document_id: str) -> int:
        with self._write:
            doomed = [c for c, r in self._records.items() if r.document_id == document_id]
            self._drop(doomed)
            return len(doomed)

    def _drop(self, chunk_ids: list[str]) -> None:
        self._vectors.delete(chunk_ids)
        for chunk_id in chunk_ids:
            self._records.pop(chunk_id, None)
            self._tokens.pop(chunk_id, None)
        self._snapshot = None

    def _lexical(self) -> LexicalSnapshot:
        snapshot = self._snapshot
        if snapshot is None:
            with self._write:
                records = list(self._records.values())
                tokens = [self._tokens[record.chunk_id] for record in records]
                snapshot = LexicalSnapshot.build(records, tokens)
                self._snapshot = snapshot
        return snapshot

    def search(
        self,
        query: str,
        *,
        k: int,
        owners: Sequence[str],
        document_ids: Sequence[str] | None = None,
        tags: Sequence[str] | None = None,
        mode: SearchMode = "hybrid",
    ) -> list[Hit]:
        if not self._records or document_ids == [] or tags == []:
            return []
        depth = max(4 * k, 30)
        vector_ranked: list[tuple[ChunkRecord, float]] = []
        lexical_ranked: list[tuple[str, float]] = []
        if mode != "bm25":
            query_vector = self.embedder.embed([query])[0]
            where = _where(owners, document_ids, tags)
            vector_ranked = self._vectors.query(query_vector, min(depth, len(self)), where)
        if mode != "vector":
            lexical_ranked = self._lexical().search(
                query, depth, owners=owners, document_ids=document_ids, tags=tags
            )
        return _fuse(vector_ranked, lexical_ranked, self._records, k, mode)


def _fuse(
    vector_ranked: list[tuple[ChunkRecord, float]],
    lexical_ranked: list[tuple[str, float]],
    records: dict[str, ChunkRecord],
    k: int,
    mode: SearchMode,
) -> list[Hit]:
    by_id: dict[str, ChunkRecord] = {}
    vector_rank: dict[str, int] = {}
    lexical_rank: dict[str, int] = {}
    scores: dict[str, float] = {}
    for rank, (record, similarity) in enumerate(vector_ranked, start=1):
        by_id[record.chunk_id] = record
        vector_rank[record.chunk_id] = rank
        scores[record.chunk_id] = similarity if mode == "vector" else 1.0 / (RRF_K + rank)
    for rank, (chunk_id, bm25_score) in enumerate(lexical_ranked, start=1):
        stored = records.get(chunk_id)
        if stored is None:  # removed since the snapshot was built
            continue
        by_id.setdefault(chunk_id, stored)
        lexical_rank[chunk_id] = rank
        fused = bm25_score if mode == "bm25" else 1.0 / (RRF_K + rank)
        scores[chunk_id] = scores.get(chunk_id, 0.0) + fused
    best = sorted(scores, key=lambda chunk_id: (-scores[chunk_id], chunk_id))[:k]
    return [
        Hit(by_id[c], round(scores[c], 6), vector_rank.get(c), lexical_rank.get(c)) for c in best
    ]


def _where(
    owners: Sequence[str], document_ids: Sequence[str] | None, tags: Sequence[str] | None
) -> Where:
    conditions: list[Where] = [{"owner": {"$in": list(owners)}}]
    if document_ids is not None:
        conditions.append({"document_id": {"$in": list(document_ids)}})
    if tags:
        tag_conditions: list[Where] = [{TAG_KEY + tag: True} for tag in tags]
        conditions.append(
            tag_conditions[0] if len(tag_conditions) == 1 else {"$or": tag_conditions}
        )
    return conditions[0] if len(conditions) == 1 else {"$and": conditions}
