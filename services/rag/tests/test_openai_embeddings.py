"""The OpenAI embedding adapter over HTTP, against an OpenAI-compatible server on
loopback (what an Ollama or vLLM base URL is), so the real client's requests and the
adapter's handling of the answers are exercised without a key or the internet."""

from __future__ import annotations

import random
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
import uvicorn
from fastapi import FastAPI, Request

from marketscope_rag.embeddings.openai import OpenAIEmbedder


def fake_vector(text: str) -> list[float]:
    return [float(len(text)), float(text.count("a")), 1.0]


@pytest.fixture
def openai_compatible_server() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    requests: list[dict[str, Any]] = []
    app = FastAPI()

    @app.post("/v1/embeddings")
    async def embeddings(request: Request) -> dict[str, Any]:
        body = await request.json()
        requests.append({"body": body, "auth": request.headers.get("authorization")})
        data = [
            {"object": "embedding", "index": i, "embedding": fake_vector(text)}
            for i, text in enumerate(body["input"])
        ]
        random.shuffle(data)  # servers need not answer in order: the index says which is which
        return {
            "object": "list",
            "data": data,
            "model": body["model"],
            "usage": {"prompt_tokens": 1, "total_tokens": 1},
        }

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "the embeddings server did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}/v1", requests
    server.should_exit = True
    thread.join(timeout=10)


def test_openai_embeddings_are_ordered_normalised_and_batched(openai_compatible_server) -> None:
    base_url, requests = openai_compatible_server
    embedder = OpenAIEmbedder("sk-test", "text-embedding-3-small", base_url=base_url)
    texts = [f"text {'a' * (i % 7)} number {i}" for i in range(300)]

    vectors = embedder.embed(texts)

    assert embedder.model == "text-embedding-3-small"
    assert vectors.shape == (300, 3)
    expected = np.array([fake_vector(t) for t in texts], dtype=np.float32)
    expected /= np.linalg.norm(expected, axis=1, keepdims=True)
    np.testing.assert_allclose(vectors, expected, rtol=1e-6)
    assert [len(r["body"]["input"]) for r in requests] == [256, 44]
    assert {r["body"]["model"] for r in requests} == {"text-embedding-3-small"}
    assert {r["auth"] for r in requests} == {"Bearer sk-test"}


def test_a_configured_key_selects_openai_embeddings() -> None:
    from marketscope_rag.components import build_embedder
    from marketscope_rag.embeddings.minilm import MiniLMEmbedder
    from marketscope_rag.settings import Settings

    configured = Settings(openai_api_key="sk-test", openai_base_url="http://127.0.0.1:9/v1")
    assert isinstance(build_embedder(configured), OpenAIEmbedder)
    assert isinstance(build_embedder(Settings()), MiniLMEmbedder)
