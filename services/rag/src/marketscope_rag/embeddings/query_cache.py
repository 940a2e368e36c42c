"""Query vectors kept for repeated searches.

A search embeds its query before it asks Chroma (about 9 ms of CPU for MiniLM, a network
round trip for OpenAI), and the same queries come back: the stock overview asks
"<SYMBOL> stock analysis" for every visitor, traders repeat their searches. A query's
vector depends on its text and the model only, never on who asks, so one least-recently
used map serves every owner. ``kept=0`` turns it off.
"""

from __future__ import annotations

import threading

from cachetools import LRUCache

from marketscope_rag.embeddings.base import Embedder, Vectors

QUERY_VECTORS_KEPT = 2048  # 384 float32 each: about 3 MiB for MiniLM


class QueryVectorCache:
    """The embedder's vector of one query, from memory when it was asked recently.

    Searches run in worker threads; the lock guards the map, not the embedding (two
    threads that miss the same query both embed it, and the second store is harmless).
    """

    def __init__(self, embedder: Embedder, *, kept: int = QUERY_VECTORS_KEPT) -> None:
        self._embedder = embedder
        self._vectors: LRUCache[str, Vectors] | None = LRUCache(kept) if kept > 0 else None
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def vector(self, query: str) -> Vectors:
        """The query's vector, one row of 1-D shape; callers must not write to it."""
        if self._vectors is None:
            uncached: Vectors = self._embedder.embed([query])[0]
            return uncached
        with self._lock:
            found: Vectors | None = self._vectors.get(query)
            if found is not None:
                self.hits += 1
                return found
            self.misses += 1
        vector: Vectors = self._embedder.embed([query])[0].copy()
        vector.setflags(write=False)
        with self._lock:
            self._vectors[query] = vector
        return vector

    def __len__(self) -> int:
        if self._vectors is None:
            return 0
        with self._lock:
            return len(self._vectors)
