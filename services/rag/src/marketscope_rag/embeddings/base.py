"""The embedding port: texts in, L2-normalised vectors out (one row per text)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np
import numpy.typing as npt

from marketscope_rag.errors import RagError

Vectors = npt.NDArray[np.float32]


class EmbeddingError(RagError):
    """The embedding model could not be loaded or called."""


class Embedder(Protocol):
    """Turns texts into L2-normalised vectors (one row per text)."""

    @property
    def model(self) -> str: ...

    def embed(self, texts: Sequence[str]) -> Vectors: ...


def normalise(vectors: Vectors) -> Vectors:
    """Rows scaled to unit length, so a dot product is the cosine similarity."""
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    normalised: Vectors = (vectors / np.clip(norms, 1e-12, None)).astype(np.float32)
    return normalised
