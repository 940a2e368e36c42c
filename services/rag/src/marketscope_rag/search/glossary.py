"""Lay phrasings and the analyst's terms they mean, for the keyword half of a search.

Users ask "how much does it owe?" where a guide says "debt-to-equity", and "a ceiling"
where it says "resistance". BM25 scores shared words only, so such a question finds
nothing by keywords, and hybrid search is left with the vectors alone. A glossary entry
names the terms (``means``) and everyday phrasings of them (``said``): a query containing
a phrasing also searches for its terms, as a search engine's synonym filter does.

The vectors get the question as asked. Measured on the paraphrased questions
(`tests/retrieval_paraphrases.json`), the terms appended to the embedded question too
lifted vector hit@5 (0.80 -> 0.88) but left hybrid's MRR below vector search's own
(0.62 against 0.68): both lists then leaned on the glossary's choice and fusion had
nothing independent to weigh. Expanding the keywords alone: BM25 hit@5 0.66 -> 0.93,
hybrid 0.90 -> 1.0 with MRR 0.61 -> 0.73, above either mode. Those entries were written
with that set in view; on held-out questions (`tests/retrieval_held_out.json`) the
glossary moved BM25 hit@5 0.65 -> 0.78 and hybrid 0.78 -> 0.80.

Phrasings and queries are tokenized alike (`lexical_index.tokenize`: lower case, light
stemming, stop words dropped), and a phrasing matches a run of consecutive query tokens.
The bundled `glossary.toml` covers the vocabulary of the starter guides; a deployment can
replace it with its own file (``MARKETSCOPE_RAG_GLOSSARY_PATH``), and an empty file turns
the expansion off.
"""

from __future__ import annotations

import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from marketscope_rag.search.lexical_index import tokenize

BUNDLED_GLOSSARY = "glossary.toml"


class GlossaryError(ValueError):
    """A glossary file that is not TOML of ``[[entry]]`` tables with ``means`` and ``said``."""


class _Entry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    means: str = Field(min_length=1)
    said: list[str] = Field(min_length=1)


class _File(BaseModel):
    model_config = ConfigDict(extra="forbid")

    entry: list[_Entry] = []


Phrase = tuple[str, ...]


@dataclass(frozen=True)
class Glossary:
    """Phrasings by their first token, each with the tokens of the terms it means."""

    by_first_token: dict[str, tuple[tuple[Phrase, Phrase], ...]]

    @classmethod
    def parse(cls, text: str, *, source: str = "glossary") -> Glossary:
        try:
            parsed = _File.model_validate(tomllib.loads(text))
        except (tomllib.TOMLDecodeError, ValidationError) as error:
            raise GlossaryError(f"{source}: {error}") from error
        found: dict[str, list[tuple[Phrase, Phrase]]] = {}
        for entry in parsed.entry:
            means = tuple(tokenize(entry.means))
            if not means:
                raise GlossaryError(f"{source}: {entry.means!r} has no searchable word")
            for phrasing in entry.said:
                phrase = tuple(tokenize(phrasing))
                if not phrase:
                    raise GlossaryError(f"{source}: {phrasing!r} has no searchable word")
                found.setdefault(phrase[0], []).append((phrase, means))
        return cls({first: tuple(pairs) for first, pairs in found.items()})

    @classmethod
    def load(cls, path: Path) -> Glossary:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise GlossaryError(f"{path}: {error}") from error
        return cls.parse(text, source=str(path))

    def __len__(self) -> int:
        return sum(len(pairs) for pairs in self.by_first_token.values())

    def expand(self, query_tokens: Sequence[str]) -> list[str]:
        """The terms meant by the phrasings found in a tokenized query, in the order
        found, each once and none the query already has."""
        present = set(query_tokens)
        added: list[str] = []
        for start, token in enumerate(query_tokens):
            for phrase, means in self.by_first_token.get(token, ()):
                if tuple(query_tokens[start : start + len(phrase)]) != phrase:
                    continue
                for term in means:
                    if term not in present:
                        present.add(term)
                        added.append(term)
        return added


@cache
def bundled_glossary() -> Glossary:
    """The finance glossary shipped with the service."""
    text = files(__package__).joinpath(BUNDLED_GLOSSARY).read_text(encoding="utf-8")
    return Glossary.parse(text, source=BUNDLED_GLOSSARY)


NO_GLOSSARY = Glossary({})
