"""Splits extracted text into chunks that fit the embedding model.

A chunk is a contiguous span of the text (so its character offsets cite it exactly) of
at most ``chunk_tokens`` word pieces, together with the path of headings it sits under.
Boundaries are chosen in this order of preference: a heading (a new section always
starts a new chunk), a paragraph, a sentence, and only for a sentence longer than a
chunk, a run of word pieces. Consecutive chunks of one section overlap by up to
``overlap_tokens`` of whole paragraphs or sentences, so a fact split across a boundary
is still found whole in one of them.

The heading path is embedded with the chunk (``Section > Subsection\\n<text>``): a
paragraph on "a ratio above 1.5" means little without the "Current ratio" above it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

_BLANK_LINES = re.compile(r"\n[ \t]*\n")
_HEADING = re.compile(r"^(#{1,6})[ \t]+(.+?)[ \t#]*$")
_SENTENCE_END = re.compile(r"(?<=[.!?;:])\s+|\n")
# The heading path is context, not content: it may take at most this share of a chunk.
_MAX_HEADER_TOKENS = 48


class Counter(Protocol):
    def count(self, texts: Sequence[str]) -> list[int]: ...

    def split(self, text: str, max_tokens: int) -> list[tuple[int, int]]: ...


@dataclass(frozen=True)
class Chunk:
    index: int
    start: int
    end: int
    text: str
    section: str
    tokens: int

    @property
    def embedding_text(self) -> str:
        """What is embedded and matched: the heading path, then the text."""
        return f"{self.section}\n{self.text}" if self.section else self.text


@dataclass(frozen=True)
class _Unit:
    start: int
    end: int
    tokens: int
    heading: bool


@dataclass(frozen=True)
class _Block:
    start: int
    end: int
    section: str
    heading: bool


class Chunker:
    def __init__(self, counter: Counter, *, chunk_tokens: int, overlap_tokens: int) -> None:
        if overlap_tokens >= chunk_tokens // 2:
            raise ValueError("overlap_tokens must be less than half of chunk_tokens")
        self._counter = counter
        self._chunk_tokens = chunk_tokens
        self._overlap = overlap_tokens

    def split(self, text: str) -> list[Chunk]:
        blocks = _blocks(text)
        sections = sorted({block.section for block in blocks if block.section})
        header_tokens = dict(zip(sections, self._counter.count(sections), strict=True))
        counts = self._counter.count([text[b.start : b.end] for b in blocks])
        chunks: list[Chunk] = []
        section_units: list[_Unit] = []
        section = ""
        for block, tokens in zip(blocks, counts, strict=True):
            # Headings directly under headings stay together with the text that follows.
            if block.heading and any(not unit.heading for unit in section_units):
                chunks += self._pack(text, section_units, section, header_tokens, len(chunks))
                section_units = []
            section = block.section
            section_units += self._units(text, block, tokens, self._budget(header_tokens, section))
        chunks += self._pack(text, section_units, section, header_tokens, len(chunks))
        return chunks

    def _budget(self, header_tokens: dict[str, int], section: str) -> int:
        return self._chunk_tokens - min(header_tokens.get(section, 0) + 1, _MAX_HEADER_TOKENS)

    def _units(self, text: str, block: _Block, tokens: int, budget: int) -> list[_Unit]:
        if tokens <= budget:
            return [_Unit(block.start, block.end, tokens, block.heading)]
        spans = _sentences(text, block.start, block.end)
        counts = self._counter.count([text[start:end] for start, end in spans])
        units: list[_Unit] = []
        for (start, end), count in zip(spans, counts, strict=True):
            if count <= budget:
                units.append(_Unit(start, end, count, False))
                continue
            for piece_start, piece_end in self._counter.split(text[start:end], budget):
                piece = text[start + piece_start : start + piece_end]
                units.append(
                    _Unit(
                        start + piece_start,
                        start + piece_end,
                        self._counter.count([piece])[0],
                        False,
                    )
                )
        return units

    def _pack(
        self,
        text: str,
        units: list[_Unit],
        section: str,
        header_tokens: dict[str, int],
        first_index: int,
    ) -> list[Chunk]:
        if not units:
            return []
        budget = self._budget(header_tokens, section)
        header = section if header_tokens.get(section, 0) < _MAX_HEADER_TOKENS else ""
        chunks: list[Chunk] = []
        current: list[_Unit] = []
        for unit in units:
            if current and sum(u.tokens for u in current) + unit.tokens > budget:
                if all(u.heading for u in current):
                    # Headings alone make no chunk; the header carries them anyway.
                    current = []
                else:
                    chunks.append(_chunk(text, current, header, first_index + len(chunks)))
                    current = self._overlap_tail(current, budget - unit.tokens)
            current.append(unit)
        chunks.append(_chunk(text, current, header, first_index + len(chunks)))
        return chunks

    def _overlap_tail(self, units: list[_Unit], room: int) -> list[_Unit]:
        tail: list[_Unit] = []
        total = 0
        for unit in reversed(units[1:]):
            if unit.heading or total + unit.tokens > min(self._overlap, room):
                break
            tail.insert(0, unit)
            total += unit.tokens
        return tail


def _chunk(text: str, units: list[_Unit], section: str, index: int) -> Chunk:
    start, end = units[0].start, units[-1].end
    return Chunk(index, start, end, text[start:end], section, sum(u.tokens for u in units))


def _blocks(text: str) -> list[_Block]:
    """Paragraphs (and heading lines) with their offsets and the heading path above them."""
    blocks: list[_Block] = []
    path: list[tuple[int, str]] = []
    position = 0
    for separator in [*_BLANK_LINES.finditer(text), None]:
        end = separator.start() if separator else len(text)
        for start, stop, heading in _split_heading_lines(text, position, end):
            if heading is not None:
                level, title = heading
                path = [entry for entry in path if entry[0] < level] + [(level, title)]
            section = " > ".join(title for _, title in path)
            blocks.append(_Block(start, stop, section, heading is not None))
        position = separator.end() if separator else len(text)
    return blocks


def _split_heading_lines(
    text: str, start: int, end: int
) -> list[tuple[int, int, tuple[int, str] | None]]:
    """A paragraph's heading lines become blocks of their own; the rest stays together."""
    parts: list[tuple[int, int, tuple[int, str] | None]] = []
    body_start: int | None = None
    offset = start
    for line in text[start:end].split("\n"):
        line_start, line_end = offset, offset + len(line)
        offset = line_end + 1
        match = _HEADING.match(line.strip())
        if match:
            if body_start is not None:
                parts.append((body_start, line_start - 1, None))
                body_start = None
            parts.append((line_start, line_end, (len(match[1]), match[2].strip())))
        elif body_start is None and line.strip():
            body_start = line_start
    if body_start is not None:
        parts.append((body_start, end, None))
    return [(a, b, h) for a, b, h in (_strip(text, *part) for part in parts) if b > a]


def _strip(
    text: str, start: int, end: int, heading: tuple[int, str] | None
) -> tuple[int, int, tuple[int, str] | None]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end, heading


def _sentences(text: str, start: int, end: int) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    position = start
    for match in _SENTENCE_END.finditer(text, start, end):
        if match.start() > position:
            spans.append((position, match.start()))
        position = match.end()
    if position < end:
        spans.append((position, end))
    return spans
