"""Retrieval quality over the starter knowledge base, with a labelled question set.

Each question names the document and a passage of the chunk that answers it (a chunk is
relevant when it contains that passage; chunk indexes would change whenever the chunker
does). Reports recall@5 and MRR@10 for vector-only, BM25-only and hybrid retrieval.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from marketscope_rag.embeddings.minilm import MiniLMEmbedder
from marketscope_rag.embeddings.tokens import TokenCounter
from marketscope_rag.indexing.chunking import Chunker
from marketscope_rag.search.records import ChunkRecord
from marketscope_rag.search.retrieval import ChunkIndex, SearchMode
from marketscope_rag.starter import STARTER_DOCUMENTS, starter_document

QUESTIONS = json.loads((Path(__file__).parent / "retrieval_questions.json").read_text())
MODES: tuple[SearchMode, ...] = ("vector", "bm25", "hybrid")


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> ChunkIndex:
    embedder = MiniLMEmbedder()
    chunker = Chunker(TokenCounter(), chunk_tokens=200, overlap_tokens=32)
    index = ChunkIndex.open(tmp_path_factory.mktemp("chroma"), embedder)
    for name in STARTER_DOCUMENTS:
        chunks = chunker.split(starter_document(name).decode())
        records = [
            ChunkRecord(
                f"{name}:{c.index}",
                name,
                "shared",
                name,
                "v1",
                c.index,
                c.start,
                c.end,
                c.section,
                c.text,
            )
            for c in chunks
        ]
        index.replace_document(name, records, embedder.embed([r.search_text for r in records]))
    return index


def relevant(record: ChunkRecord, label: dict[str, str]) -> bool:
    # Whitespace-insensitive: the documents wrap lines, the labels do not.
    text = " ".join(record.text.split())
    return record.document_id == label["document"] and label["answer"] in text


def test_labels_point_at_real_chunks(index: ChunkIndex) -> None:
    assert len(QUESTIONS) >= 30
    for label in QUESTIONS:
        chunks = index.chunks_of(label["document"])
        assert any(relevant(chunk, label) for chunk in chunks), label


def test_hybrid_recall_at_5_is_at_least_0_9(index: ChunkIndex) -> None:
    report: dict[str, tuple[float, float]] = {}
    misses: dict[str, list[str]] = {mode: [] for mode in MODES}
    for mode in MODES:
        found, reciprocal = 0, 0.0
        for label in QUESTIONS:
            hits = index.search(label["question"], k=10, owners=["shared"], mode=mode)
            ranks = [i for i, hit in enumerate(hits, start=1) if relevant(hit.record, label)]
            if ranks and ranks[0] <= 5:
                found += 1
            else:
                misses[mode].append(label["question"])
            reciprocal += 1 / ranks[0] if ranks else 0.0
        report[mode] = (found / len(QUESTIONS), reciprocal / len(QUESTIONS))
    print(f"\nretrieval quality over {len(QUESTIONS)} labelled questions")
    for mode, (recall, mrr) in report.items():
        print(f"  {mode:<6} recall@5 {recall:.3f}  MRR@10 {mrr:.3f}  misses: {misses[mode]}")
    assert report["hybrid"][0] >= 0.9
