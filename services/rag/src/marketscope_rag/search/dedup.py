"""One passage, one place in a result list.

A ranked list can hold the same passage more than once: the same chunk (document,
version, chunk index) stored under two ids, or a document that repeats itself (a
disclaimer on every page, a table copied under two headings) so that its chunks are
near-identical. Showing them twice wastes places in a top k and pushes the next distinct
passage out, so each group of duplicates keeps only its best-ranked member.

Near-identical is decided within one document version only: two documents quoting the
same passage are two sources, and both may be cited.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from marketscope_rag.search.records import ChunkRecord

_WORD = re.compile(r"\w+")
# Consecutive chunks of a section share at most their overlap (32 of 200 tokens), far
# below this; text that differs only by a word or two in a long chunk is above it.
NEAR_IDENTICAL_OVERLAP = 0.9

ChunkKey = tuple[str, str | None, int]


def chunk_key(record: ChunkRecord) -> ChunkKey:
    """What makes a chunk the same chunk, whatever id it was stored under."""
    return (record.document_id, record.version_id, record.chunk_index)


def _words(text: str) -> frozenset[str]:
    return frozenset(_WORD.findall(text.lower()))


def _normalised(text: str) -> str:
    return " ".join(_WORD.findall(text.lower()))


@dataclass
class DuplicateCollapser:
    """Maps each chunk to the key of the first chunk it duplicates (or its own key).

    Feed chunks in the order they should win: the first member of a group is its
    representative, the later ones resolve to it."""

    threshold: float = NEAR_IDENTICAL_OVERLAP
    _canonical: dict[ChunkKey, ChunkKey] = field(default_factory=dict)
    _by_text: dict[tuple[str, str | None, str], ChunkKey] = field(default_factory=dict)
    _words_by_version: dict[tuple[str, str | None], list[tuple[ChunkKey, frozenset[str]]]] = field(
        default_factory=dict
    )

    def canonical(self, record: ChunkRecord) -> ChunkKey:
        key = chunk_key(record)
        known = self._canonical.get(key)
        if known is not None:
            return known
        version = (record.document_id, record.version_id)
        text_key = (*version, _normalised(record.text))
        found = self._by_text.get(text_key)
        words = _words(record.text)
        if found is None:
            found = next(
                (
                    other
                    for other, other_words in self._words_by_version.get(version, [])
                    if _overlap(words, other_words) >= self.threshold
                ),
                None,
            )
        if found is None:
            found = key
            self._by_text[text_key] = key
            self._words_by_version.setdefault(version, []).append((key, words))
        self._canonical[key] = found
        return found


def _overlap(left: frozenset[str], right: frozenset[str]) -> float:
    """Jaccard overlap of two word sets (1.0 for two empty texts)."""
    union = len(left | right)
    return len(left & right) / union if union else 1.0
