"""The query-vector cache: repeated queries skip the embedder, least recently used go
first, 0 turns it off, and a search through the index gives the same hits with it."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from marketscope_rag.embeddings.base import Vectors, normalise
from marketscope_rag.embeddings.query_cache import QueryVectorCache
from marketscope_rag.search.records import ChunkRecord
from marketscope_rag.search.retrieval import ChunkIndex
from marketscope_rag.search.vector_index import VectorIndex


class CountingEmbedder:
    """A bag of words hashed into 16 dimensions (texts sharing words point the same way);
    counts the texts it embedded."""

    model = "counting"

    def __init__(self) -> None:
        self.embedded: list[str] = []

    def embed(self, texts: Sequence[str]) -> Vectors:
        self.embedded.extend(texts)
        rows = np.full((len(texts), 16), 0.01, dtype=np.float32)
        for row, text in enumerate(texts):
            for word in text.split():
                rows[row, sum(word.encode()) % 16] += 1.0
        return normalise(rows)


def test_a_repeated_query_is_embedded_once() -> None:
    embedder = CountingEmbedder()
    cache = QueryVectorCache(embedder, kept=4)
    first = cache.vector("AAPL stock analysis")
    second = cache.vector("AAPL stock analysis")
    assert embedder.embedded == ["AAPL stock analysis"]
    assert np.array_equal(first, second)
    assert np.allclose(first, embedder.embed(["AAPL stock analysis"])[0])
    assert (cache.hits, cache.misses) == (1, 1)


def test_the_least_recently_used_query_goes_first() -> None:
    embedder = CountingEmbedder()
    cache = QueryVectorCache(embedder, kept=2)
    cache.vector("a")
    cache.vector("b")
    cache.vector("a")  # b is now the oldest
    cache.vector("c")
    assert len(cache) == 2
    embedder.embedded.clear()
    cache.vector("a")
    cache.vector("b")
    assert embedder.embedded == ["b"]


def test_kept_vectors_cannot_be_changed_by_a_caller() -> None:
    cache = QueryVectorCache(CountingEmbedder(), kept=2)
    vector = cache.vector("MSFT")
    with pytest.raises(ValueError, match="read-only"):
        vector[0] = 1.0


def test_zero_kept_embeds_every_time() -> None:
    embedder = CountingEmbedder()
    cache = QueryVectorCache(embedder, kept=0)
    cache.vector("q")
    cache.vector("q")
    assert embedder.embedded == ["q", "q"]
    assert len(cache) == 0


def _record(chunk_id: str, text: str) -> ChunkRecord:
    return ChunkRecord(
        chunk_id=chunk_id,
        document_id="doc",
        owner="alice",
        filename="notes.md",
        version_id="v1",
        chunk_index=int(chunk_id[-1]),
        start=0,
        end=len(text),
        section="",
        text=text,
    )


def test_a_search_with_the_cache_finds_what_it_finds_without(tmp_path: Path) -> None:
    texts = ["apple earnings beat", "microsoft cloud growth", "drawdown recovery time"]
    records = [_record(f"c{i}", text) for i, text in enumerate(texts)]
    results = []
    for kept in (0, 16):
        embedder = CountingEmbedder()
        vectors = VectorIndex(tmp_path / f"kept-{kept}", embedder)
        try:
            index = ChunkIndex(
                vectors, embedder, query_vectors=QueryVectorCache(embedder, kept=kept)
            )
            index.replace_document("doc", records, embedder.embed(texts))
            embedder.embedded.clear()
            for _ in range(3):
                hits = index.search("cloud growth", k=2, owners=["alice"], mode="vector")
            results.append([hit.record.chunk_id for hit in hits])
            assert embedder.embedded == ["cloud growth"] * (3 if kept == 0 else 1)
        finally:
            vectors.close()
    assert results[0] == results[1]
    assert results[0][0] == "c1"
