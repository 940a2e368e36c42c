"""OpenAI (or an OpenAI-compatible server: Ollama, vLLM) embeddings, used when a key is
configured; normalised like MiniLM's so the index treats both alike."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from openai import OpenAI

from marketscope_rag.embeddings.base import Vectors, normalise

# Texts per request: well inside the endpoint's limits on inputs and tokens per request.
_BATCH = 256


class OpenAIEmbedder:
    def __init__(self, api_key: str, model: str, *, base_url: str | None = None) -> None:
        self._client = OpenAI(api_key=api_key, base_url=base_url, max_retries=2, timeout=30)
        self._model = model

    @property
    def model(self) -> str:
        return self._model

    def embed(self, texts: Sequence[str]) -> Vectors:
        rows: list[list[float]] = []
        for start in range(0, len(texts), _BATCH):
            response = self._client.embeddings.create(
                model=self._model, input=list(texts[start : start + _BATCH])
            )
            # Servers need not answer in input order: each item's index says which it is.
            rows.extend(item.embedding for item in sorted(response.data, key=lambda d: d.index))
        return normalise(np.asarray(rows, dtype=np.float32))
