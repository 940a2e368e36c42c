"""The keyword half of the index: BM25 (bm25s) over the same chunks as the vectors.

bm25s has no incremental updates, so the index is an immutable snapshot rebuilt from the
chunks in memory when they have changed (tokens are cached per chunk: a rebuild at 10,000
chunks is a fraction of a second). Visibility (owner, document, tags) is a weight mask
over the snapshot, so a search never scores another owner's chunks.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import bm25s  # type: ignore[import-untyped]
import numpy as np
import numpy.typing as npt

from marketscope_rag.search.records import ChunkRecord

# Words and compounds an analyst types: "p/e", "s&p", "ev/ebitda", "year-over-year", "2.5".
_TOKEN = re.compile(r"[a-z0-9]+(?:[/&.\-'][a-z0-9]+)*")
_PARTS = re.compile(r"[/&.\-']")
_STOPWORD_LIST = """a an and are as at be been but by can could did do does for from had has
have how i if in into is it its itself of on or our she should so than that the their them then
there these they this those to was we were what when where which while who whom why will with
would you your"""
STOPWORDS = frozenset(_STOPWORD_LIST.split())


def stem(word: str) -> str:
    """A light plural/inflection stripper: "ratios" and "ratio" must meet."""
    if len(word) <= 3 or not word.isalpha():
        return word
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith("sses"):
        return word[:-2]
    if word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def tokenize(text: str) -> list[str]:
    tokens: list[str] = []
    for match in _TOKEN.finditer(text.lower()):
        word = match.group()
        parts = [part for part in _PARTS.split(word) if part]
        if len(parts) > 1:
            tokens.append(word.replace("'", ""))
        tokens += [stem(part) for part in parts if part not in STOPWORDS and len(part) > 1]
    return tokens


@dataclass(frozen=True)
class LexicalSnapshot:
    chunk_ids: list[str]
    owners: npt.NDArray[np.str_]
    document_ids: npt.NDArray[np.str_]
    tags: list[frozenset[str]]
    model: bm25s.BM25 | None

    @classmethod
    def build(cls, records: Sequence[ChunkRecord], tokens: Sequence[list[str]]) -> LexicalSnapshot:
        model = None
        if records:
            model = bm25s.BM25()
            # An empty token list would break the index; a placeholder never matches.
            model.index([t or ["\x00"] for t in tokens], show_progress=False)
        return cls(
            chunk_ids=[record.chunk_id for record in records],
            owners=np.array([record.owner for record in records], dtype=np.str_),
            document_ids=np.array([record.document_id for record in records], dtype=np.str_),
            tags=[frozenset(record.tags) for record in records],
            model=model,
        )

    def search(
        self,
        query_tokens: Sequence[str],
        n: int,
        *,
        owners: Iterable[str],
        document_ids: Iterable[str] | None = None,
        tags: Iterable[str] | None = None,
    ) -> list[tuple[str, float]]:
        """Up to ``n`` visible chunk ids with a positive BM25 score for the query's tokens
        (`tokenize`), best first."""
        if self.model is None or not query_tokens:
            return []
        mask = np.isin(self.owners, list(owners))
        if document_ids is not None:
            mask &= np.isin(self.document_ids, list(document_ids))
        if tags is not None:
            wanted = set(tags)
            mask &= np.array([bool(wanted & chunk_tags) for chunk_tags in self.tags])
        if not mask.any():
            return []
        k = min(n, len(self.chunk_ids))
        indices, scores = self.model.retrieve(
            [list(query_tokens)], k=k, show_progress=False, weight_mask=mask.astype(np.float32)
        )
        return [
            (self.chunk_ids[int(index)], float(score))
            for index, score in zip(indices[0], scores[0], strict=True)
            if score > 0
        ]


def snippet(text: str, query: str, width: int = 240) -> str:
    """About ``width`` characters of ``text`` around the first query term it contains."""
    if len(text) <= width:
        return text
    lowered = text.lower()
    positions = [
        lowered.find(token) for token in tokenize(query) if len(token) > 2 and token in lowered
    ]
    centre = min(positions) if positions else 0
    start = max(0, min(centre - width // 3, len(text) - width))
    if start > 0:
        space = text.find(" ", start)
        start = space + 1 if 0 <= space < start + 20 else start
    end = min(len(text), start + width)
    if end < len(text):
        space = text.rfind(" ", start, end)
        end = space if space > start + width // 2 else end
    prefix = "…" if start > 0 else ""
    suffix = "…" if end < len(text) else ""
    return prefix + text[start:end].strip() + suffix
