"""Chunks fit the model, cite their text exactly, and prefer heading/paragraph edges."""

from __future__ import annotations

import itertools

import pytest

from marketscope_rag.embeddings.minilm import MAX_MODEL_TOKENS
from marketscope_rag.embeddings.tokens import TokenCounter
from marketscope_rag.indexing.chunking import Chunker
from marketscope_rag.starter import STARTER_DOCUMENTS, starter_document


@pytest.fixture(scope="module")
def counter() -> TokenCounter:
    return TokenCounter()


def test_starter_documents_fit_the_model_and_cite_exactly(counter: TokenCounter) -> None:
    chunker = Chunker(counter, chunk_tokens=200, overlap_tokens=32)
    for name in STARTER_DOCUMENTS:
        text = starter_document(name).decode()
        chunks = chunker.split(text)
        assert len(chunks) > 5
        assert [chunk.index for chunk in chunks] == list(range(len(chunks)))
        for chunk in chunks:
            assert text[chunk.start : chunk.end] == chunk.text
            # Everything embedded, heading path and [CLS]/[SEP] included, fits in 256.
            assert counter.count([chunk.embedding_text])[0] + 2 <= MAX_MODEL_TOKENS


def test_a_heading_starts_a_new_chunk(counter: TokenCounter) -> None:
    text = "# Guide\n\n## Beta\n\nBeta is systematic risk.\n\n## Sharpe\n\nSharpe is excess return."
    chunks = Chunker(counter, chunk_tokens=200, overlap_tokens=20).split(text)
    assert [chunk.section for chunk in chunks] == ["Guide > Beta", "Guide > Sharpe"]
    assert chunks[0].text.startswith("# Guide")  # headings over headings stay together
    assert chunks[1].text == "## Sharpe\n\nSharpe is excess return."
    assert chunks[1].embedding_text.startswith("Guide > Sharpe\n")


def test_long_sections_split_at_paragraphs_with_overlap(counter: TokenCounter) -> None:
    paragraphs = [
        f"Paragraph {i} talks about ratio number {i} and nothing else." for i in range(40)
    ]
    text = "## Ratios\n\n" + "\n\n".join(paragraphs)
    chunks = Chunker(counter, chunk_tokens=80, overlap_tokens=20).split(text)
    assert len(chunks) > 3
    for chunk in chunks:
        assert chunk.tokens <= 80
        # Boundaries fall between paragraphs: every chunk ends a paragraph.
        assert chunk.text.endswith("nothing else.")
    for previous, following in itertools.pairwise(chunks):
        assert following.start < previous.end  # consecutive chunks overlap


def test_a_sentence_longer_than_a_chunk_is_split_by_tokens(counter: TokenCounter) -> None:
    text = " ".join(["volatility"] * 500)
    chunks = Chunker(counter, chunk_tokens=64, overlap_tokens=8).split(text)
    assert len(chunks) >= 8
    assert all(chunk.tokens <= 64 for chunk in chunks)
    assert chunks[0].start == 0
    assert chunks[-1].end == len(text)


def test_overlap_must_be_smaller_than_half_a_chunk(counter: TokenCounter) -> None:
    with pytest.raises(ValueError, match="overlap"):
        Chunker(counter, chunk_tokens=64, overlap_tokens=40)
