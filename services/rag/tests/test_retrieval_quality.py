"""Retrieval quality over the starter knowledge base, with four labelled question sets.

`retrieval_questions.json` asks in the guides' own words; `retrieval_paraphrases.json`
asks the way users do, avoiding the words of the section that answers. The fusion
constants and the bundled glossary (`search/glossary.py`) were measured against those
two, so they also measure what was tuned on them. `retrieval_held_out.json` was written
afterwards, by someone who had seen neither the other sets nor the glossary, and has
never been used to tune anything: it is the figure to read for questions nobody
anticipated (and it must stay unused for tuning to remain so).
`retrieval_held_out_strict.json` is harder still: written later, from the guides alone,
each question sharing at most one content word with the paragraph that answers it (what
a reader who has never seen the guides' vocabulary types). It too is never tuned on.

Each question names the document and a passage of the chunk that answers it (a chunk is
relevant when it contains that passage; chunk indexes would change whenever the chunker
does). Reports hit@1, hit@5 and MRR@10 for vector-only, BM25-only and hybrid retrieval,
and holds hybrid to earning its place: at least as good as the better single mode on
MRR and hit@5, on every set.

Result lists never repeat a passage: the same chunk stored twice, or near-identical
chunks of one document version, take one place.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import cache
from pathlib import Path

import pytest

from marketscope_rag.embeddings.minilm import MiniLMEmbedder
from marketscope_rag.embeddings.tokens import TokenCounter
from marketscope_rag.indexing.chunking import Chunker
from marketscope_rag.search.records import ChunkRecord
from marketscope_rag.search.retrieval import ChunkIndex, SearchMode
from marketscope_rag.starter import STARTER_DOCUMENTS, starter_document

HERE = Path(__file__).parent
SETS = {
    "questions": json.loads((HERE / "retrieval_questions.json").read_text()),
    "paraphrases": json.loads((HERE / "retrieval_paraphrases.json").read_text()),
    "held_out": json.loads((HERE / "retrieval_held_out.json").read_text()),
    "held_out_strict": json.loads((HERE / "retrieval_held_out_strict.json").read_text()),
}
MODES: tuple[SearchMode, ...] = ("vector", "bm25", "hybrid")
Metrics = dict[str, float]


@pytest.fixture(scope="module")
def embedder() -> MiniLMEmbedder:
    return MiniLMEmbedder()


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory, embedder: MiniLMEmbedder) -> ChunkIndex:
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


@pytest.fixture(scope="module")
def quality(index: ChunkIndex) -> dict[str, dict[str, Metrics]]:
    """hit@1, hit@5 and MRR@10 of each mode on each set, printed once."""

    @cache
    def measure(set_name: str, mode: SearchMode) -> Metrics:
        labels = SETS[set_name]
        first_ranks: list[int | None] = []
        for label in labels:
            hits = index.search(label["question"], k=10, owners=["shared"], mode=mode)
            ranks = [i for i, hit in enumerate(hits, start=1) if relevant(hit.record, label)]
            first_ranks.append(ranks[0] if ranks else None)
        n = len(labels)
        return {
            "hit@1": sum(r == 1 for r in first_ranks) / n,
            "hit@5": sum(r is not None and r <= 5 for r in first_ranks) / n,
            "mrr": sum(1 / r for r in first_ranks if r is not None) / n,
        }

    report = {name: {mode: measure(name, mode) for mode in MODES} for name in SETS}
    for name, by_mode in report.items():
        print(f"\nretrieval quality over {len(SETS[name])} labelled {name}")
        for mode, m in by_mode.items():
            print(f"  {mode:<6} hit@1 {m['hit@1']:.3f}  hit@5 {m['hit@5']:.3f}  MRR {m['mrr']:.3f}")
    return report


@pytest.mark.parametrize("set_name", SETS)
def test_labels_point_at_real_chunks(index: ChunkIndex, set_name: str) -> None:
    labels = SETS[set_name]
    assert len(labels) >= 25
    for label in labels:
        chunks = index.chunks_of(label["document"])
        assert any(relevant(chunk, label) for chunk in chunks), label


@pytest.mark.parametrize("set_name", SETS)
def test_hybrid_ranks_at_least_as_well_as_the_better_single_mode(
    quality: dict[str, dict[str, Metrics]], set_name: str
) -> None:
    by_mode = quality[set_name]
    assert by_mode["hybrid"]["mrr"] >= max(by_mode["vector"]["mrr"], by_mode["bm25"]["mrr"])
    assert by_mode["hybrid"]["hit@5"] >= max(by_mode["vector"]["hit@5"], by_mode["bm25"]["hit@5"])


def test_hybrid_finds_direct_questions_in_its_top_5(
    quality: dict[str, dict[str, Metrics]],
) -> None:
    assert quality["questions"]["hybrid"]["hit@5"] >= 0.95


def test_hybrid_finds_95_percent_of_paraphrases_in_its_top_5(
    quality: dict[str, dict[str, Metrics]],
) -> None:
    assert quality["paraphrases"]["hybrid"]["hit@5"] >= 0.95


def test_hybrid_finds_three_in_four_held_out_questions_in_its_top_5(
    quality: dict[str, dict[str, Metrics]],
) -> None:
    # Measured 0.800 (vectors 0.675, BM25 0.775): a floor against regressions, not a
    # goal; the gap to the paraphrases' figure is what tuning on a set buys on it.
    assert quality["held_out"]["hybrid"]["hit@5"] >= 0.75


def test_hybrid_finds_half_the_questions_that_share_no_words_with_their_answer(
    quality: dict[str, dict[str, Metrics]],
) -> None:
    # Measured 0.575 (vectors 0.525, BM25 0.350): a floor against regressions. These
    # questions are what MiniLM's vectors alone must bridge; BM25 has almost nothing.
    assert quality["held_out_strict"]["hybrid"]["hit@5"] >= 0.5


def _records(
    document_id: str, texts: Sequence[str], *, ids: Sequence[str] = ()
) -> list[ChunkRecord]:
    return [
        ChunkRecord(
            ids[i] if ids else f"{document_id}:v1:{i}",
            document_id,
            "owner",
            f"{document_id}.md",
            "v1",
            i,
            0,
            len(text),
            "Notes",
            text,
        )
        for i, text in enumerate(texts)
    ]


DISCLAIMER = (
    "This research note is not investment advice. Past performance does not predict "
    "future returns, and the value of shares can fall as well as rise."
)


def test_repeated_chunks_of_one_document_take_one_place(
    tmp_path: Path, embedder: MiniLMEmbedder
) -> None:
    index = ChunkIndex.open(tmp_path, embedder)
    texts = [
        DISCLAIMER,
        "Quarterly revenue grew 12 % on strong cloud demand.",
        DISCLAIMER,
        "  " + DISCLAIMER.upper() + "  ",  # same words, other case and spacing
        DISCLAIMER.replace("shares", "stocks"),  # one word in 23 differs
        "Margins narrowed because of higher memory prices.",
    ]
    records = _records("note", texts)
    other = _records("other-note", [DISCLAIMER])  # another source: citable too
    index.replace_document("note", records, embedder.embed([r.search_text for r in records]))
    index.replace_document("other-note", other, embedder.embed([other[0].search_text]))
    for mode in MODES:
        hits = index.search("is this investment advice?", k=5, owners=["owner"], mode=mode)
        disclaimers = [
            h.record
            for h in hits
            if h.record.document_id == "note" and h.record.chunk_index in {0, 2, 3, 4}
        ]
        assert len(disclaimers) == 1, (mode, [h.record.chunk_id for h in hits])
        assert [h.record.document_id for h in hits].count("other-note") == 1, mode
        keys = [(h.record.document_id, h.record.chunk_index) for h in hits]
        assert len(keys) == len(set(keys)), mode
    index.close()


def test_one_chunk_stored_under_two_ids_appears_once_from_both_modes(
    tmp_path: Path, embedder: MiniLMEmbedder
) -> None:
    index = ChunkIndex.open(tmp_path, embedder)
    texts = [
        "Free cash flow is operating cash flow minus capital expenditure.",
        "Dividend cover compares earnings with the dividend paid.",
    ]
    # The first chunk twice: same document, version and chunk index, two ids.
    records = _records("ratios", texts) + _records("ratios", texts[:1], ids=["ratios:legacy:0"])
    index.replace_document("ratios", records, embedder.embed([r.search_text for r in records]))
    query = "free cash flow capital expenditure"
    vector_only = index.search(query, k=5, owners=["owner"], mode="vector")
    bm25_only = index.search(query, k=5, owners=["owner"], mode="bm25")
    hybrid = index.search(query, k=5, owners=["owner"], mode="hybrid")
    for hits in (vector_only, bm25_only, hybrid):
        assert [h.record.chunk_index for h in hits].count(0) == 1
    assert [h.record.chunk_index for h in vector_only] == [0, 1]
    assert [h.record.chunk_index for h in hybrid] == [0, 1]
    # Found by both retrievers, first in each: its twin took no rank of its own.
    assert (hybrid[0].vector_rank, hybrid[0].lexical_rank) == (1, 1)
    assert hybrid[1].vector_rank == 2
    index.close()
