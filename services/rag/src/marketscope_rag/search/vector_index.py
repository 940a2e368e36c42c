"""The vector half of the index: one Chroma collection per embedding model.

Chroma's persistent client is not safe with two writing processes (they silently corrupt
the directory), so the directory is locked with ``flock`` for the index's lifetime: a
second rag process pointed at the same path fails at start instead. Calls are blocking;
callers run them in a worker thread.
"""

from __future__ import annotations

import fcntl
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

import chromadb
from chromadb.api.types import Documents, EmbeddingFunction, Embeddings, Space
from chromadb.config import Settings as ChromaSettings

from marketscope_rag.embeddings.base import Embedder, EmbeddingError, Vectors
from marketscope_rag.errors import IndexLockedError
from marketscope_rag.search.records import ChunkRecord

Where = dict[str, Any]


class ChromaEmbedding(EmbeddingFunction[Documents]):
    """Our embedder in Chroma's interface, so the collection records which model made
    its vectors. Vectors are computed by the index itself and passed in explicitly."""

    def __init__(self, embedder: Embedder) -> None:
        self._embedder = embedder

    def __call__(self, input: Documents) -> Embeddings:
        return list(self._embedder.embed(list(input)))

    @staticmethod
    def name() -> str:
        return "marketscope"

    def get_config(self) -> dict[str, Any]:
        return {"model": self._embedder.model}

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> ChromaEmbedding:
        return ChromaEmbedding(_NamedOnly(str(config.get("model", "unknown"))))

    def default_space(self) -> Space:
        return "cosine"


class _NamedOnly:
    """The embedder a stored collection names, for Chroma's config round trip only."""

    def __init__(self, model: str) -> None:
        self._model = model

    @property
    def model(self) -> str:
        return self._model

    def embed(self, texts: Sequence[str]) -> Vectors:
        raise EmbeddingError(f"{self._model} is not loaded; vectors are passed explicitly")


def collection_name(model: str) -> str:
    return "chunks-" + re.sub(r"[^a-zA-Z0-9_-]+", "-", model).strip("-").lower()[:50]


class VectorIndex:
    def __init__(self, path: Path, embedder: Embedder) -> None:
        path.mkdir(parents=True, exist_ok=True)
        self._lock = _lock_directory(path)
        self._client = chromadb.PersistentClient(
            path=str(path), settings=ChromaSettings(anonymized_telemetry=False)
        )
        self._collection = self._client.get_or_create_collection(
            collection_name(embedder.model),
            embedding_function=ChromaEmbedding(embedder),  # type: ignore[arg-type]
            metadata={"hnsw:space": "cosine"},
        )

    def close(self) -> None:
        self._lock.close()

    def count(self) -> int:
        return int(self._collection.count())

    def add(self, records: Sequence[ChunkRecord], vectors: Vectors) -> None:
        for start in range(0, len(records), 1000):
            batch = records[start : start + 1000]
            self._collection.upsert(
                ids=[record.chunk_id for record in batch],
                embeddings=vectors[start : start + len(batch)],
                documents=[record.text for record in batch],
                metadatas=[record.metadata() for record in batch],
            )

    def delete(self, chunk_ids: Sequence[str]) -> None:
        if chunk_ids:
            self._collection.delete(ids=list(chunk_ids))

    def query(self, vector: Vectors, n: int, where: Where) -> list[tuple[ChunkRecord, float]]:
        """The ``n`` nearest chunks matching ``where``, with their cosine similarity."""
        result = self._collection.query(
            query_embeddings=vector.reshape(1, -1),
            n_results=n,
            where=where,
            include=["documents", "metadatas", "distances"],
        )
        ids = result["ids"][0]
        documents = (result["documents"] or [[]])[0]
        metadatas = (result["metadatas"] or [[]])[0]
        distances = (result["distances"] or [[]])[0]
        return [
            (ChunkRecord.from_stored(chunk_id, text, dict(meta)), 1.0 - float(distance))
            for chunk_id, text, meta, distance in zip(
                ids, documents, metadatas, distances, strict=True
            )
        ]

    def all_records(self) -> list[ChunkRecord]:
        records: list[ChunkRecord] = []
        offset, page = 0, 5000
        while True:
            result = self._collection.get(
                include=["documents", "metadatas"], limit=page, offset=offset
            )
            documents = result["documents"] or []
            metadatas = result["metadatas"] or []
            records += [
                ChunkRecord.from_stored(chunk_id, text, dict(meta))
                for chunk_id, text, meta in zip(result["ids"], documents, metadatas, strict=True)
            ]
            if len(result["ids"]) < page:
                return records
            offset += page


def _lock_directory(path: Path) -> TextIO:
    handle = (path / ".writer.lock").open("a+")
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError as exc:
        handle.close()
        raise IndexLockedError(
            f"{path} is held by another process; one rag process owns a Chroma directory"
        ) from exc
    handle.seek(0)
    handle.truncate()
    handle.write(f"{os.getpid()}\n")
    handle.flush()
    return handle
