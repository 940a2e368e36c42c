"""The glossary of everyday phrasings: parsing, phrase matching, and its effect on the
keyword half of a search."""

from __future__ import annotations

from pathlib import Path

import pytest

from marketscope_rag.components import load_glossary
from marketscope_rag.embeddings.minilm import MiniLMEmbedder
from marketscope_rag.search.glossary import (
    NO_GLOSSARY,
    Glossary,
    GlossaryError,
    bundled_glossary,
)
from marketscope_rag.search.lexical_index import tokenize
from marketscope_rag.search.records import ChunkRecord
from marketscope_rag.search.retrieval import ChunkIndex
from marketscope_rag.search.vector_index import VectorIndex

CEILING = """
[[entry]]
means = "resistance level"
said = ["a ceiling", "can't get past"]

[[entry]]
means = "debt-to-equity leverage"
said = ["borrowed money"]
"""


def expand(glossary: Glossary, question: str) -> list[str]:
    return glossary.expand(tokenize(question))


def test_a_phrasing_in_the_question_adds_the_terms_it_means() -> None:
    glossary = Glossary.parse(CEILING)
    assert len(glossary) == 3
    assert expand(glossary, "Why does the stock keep hitting a ceiling?") == [
        "resistance",
        "level",
    ]
    # Stemmed and stop words dropped alike on both sides: "ceilings", "the".
    assert expand(glossary, "ceilings everywhere") == ["resistance", "level"]


def test_a_phrasing_matches_consecutive_words_only() -> None:
    glossary = Glossary.parse(CEILING)
    assert expand(glossary, "is borrowed money bad") == [
        "debt-to-equity",
        "debt",
        "equity",
        "leverage",
    ]
    assert expand(glossary, "money I borrowed") == []
    assert expand(glossary, "borrowed some extra money") == []


def test_terms_the_question_has_or_that_two_phrasings_share_are_added_once() -> None:
    glossary = Glossary.parse(CEILING)
    assert expand(glossary, "a ceiling it can't get past: is that resistance?") == ["level"]


def test_a_question_with_no_phrasing_is_searched_as_asked() -> None:
    assert expand(Glossary.parse(CEILING), "what is the current ratio") == []
    assert expand(NO_GLOSSARY, "a ceiling") == []
    assert expand(Glossary.parse(""), "a ceiling") == []


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("[[entry]\nmeans = 'x'", "line 1"),  # not TOML
        ("[[entry]]\nmeans = 'resistance'\n", "said"),  # no phrasings
        ("[[entry]]\nmeans = 'resistance'\nsaid = []\n", "said"),
        ("[[entry]]\nmeans = 'the'\nsaid = ['ceiling']\n", "no searchable word"),
        ("[[entry]]\nmeans = 'resistance'\nsaid = ['of the']\n", "no searchable word"),
        ("[[entry]]\nmeans = 'resistance'\nsaid = ['x']\nweight = 2\n", "weight"),
        ("[[term]]\nmeans = 'resistance'\nsaid = ['ceiling']\n", "term"),
    ],
)
def test_a_malformed_glossary_is_refused_saying_where_and_why(text: str, problem: str) -> None:
    with pytest.raises(GlossaryError, match=problem) as raised:
        Glossary.parse(text, source="mine.toml")
    assert str(raised.value).startswith("mine.toml: ")


def test_a_deployment_replaces_the_bundled_glossary_with_its_file(tmp_path: Path) -> None:
    assert load_glossary(None) is bundled_glossary()
    mine = tmp_path / "glossary.toml"
    mine.write_text(CEILING)
    assert expand(load_glossary(mine), "a ceiling") == ["resistance", "level"]
    mine.write_text("")
    assert len(load_glossary(mine)) == 0
    with pytest.raises(GlossaryError, match=r"missing\.toml"):
        load_glossary(tmp_path / "missing.toml")


def test_the_bundled_glossary_covers_the_guides_everyday_vocabulary() -> None:
    glossary = bundled_glossary()
    assert len(glossary) >= 200
    assert "resistance" in expand(glossary, "it keeps stalling at a ceiling")
    assert "alert" in expand(glossary, "can you notify me when it drops")
    assert "debt" in expand(glossary, "how much borrowing is too much")


def _record(index: int, section: str, text: str) -> ChunkRecord:
    return ChunkRecord(
        f"guide:v1:{index}", "guide", "owner", "guide.md", "v1", index, 0, len(text), section, text
    )


GUIDE = [
    _record(0, "Support and resistance", "Resistance is a price level where selling halts rises."),
    _record(1, "Dividends", "The payout ratio is the share of earnings paid as dividends."),
    _record(2, "Liquidity", "The current ratio divides current assets by current liabilities."),
]


@pytest.mark.parametrize(
    ("glossary", "found"), [(Glossary.parse(CEILING), True), (NO_GLOSSARY, False)]
)
def test_keyword_search_finds_the_section_a_phrasing_means(
    tmp_path: Path, glossary: Glossary, found: bool
) -> None:
    embedder = MiniLMEmbedder()
    index = ChunkIndex(VectorIndex(tmp_path, embedder), embedder, glossary=glossary)
    index.replace_document("guide", GUIDE, embedder.embed([r.search_text for r in GUIDE]))
    hits = index.search("the stock stalls at a ceiling", k=3, owners=["owner"], mode="bm25")
    assert [hit.record.chunk_index for hit in hits] == ([0] if found else [])
    index.close()
