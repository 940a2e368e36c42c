"""MiniLM word pieces, the unit of the chunk budget: a chunk is measured with the same
tokenizer that the default embedder truncates with."""

from __future__ import annotations

from collections.abc import Sequence

from tokenizers import Tokenizer

from marketscope_rag.embeddings.minilm import load_tokenizer


class TokenCounter:
    """Counts MiniLM word pieces (no special tokens)."""

    def __init__(self, tokenizer: Tokenizer | None = None) -> None:
        self._tokenizer = tokenizer or load_tokenizer(None)

    def count(self, texts: Sequence[str]) -> list[int]:
        encodings = self._tokenizer.encode_batch(list(texts), add_special_tokens=False)
        return [len(encoding.ids) for encoding in encodings]

    def split(self, text: str, max_tokens: int) -> list[tuple[int, int]]:
        """Character spans of consecutive windows of at most ``max_tokens`` pieces."""
        offsets = self._tokenizer.encode(text, add_special_tokens=False).offsets
        return [
            (offsets[start][0], offsets[min(start + max_tokens, len(offsets)) - 1][1])
            for start in range(0, len(offsets), max_tokens)
        ]
