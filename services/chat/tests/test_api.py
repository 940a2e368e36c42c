"""The chat service over HTTP, served on loopback in front of the real market-data and
rag apps (on the emulator), with the offline engine: conversations, streamed and whole
turns whose tools run as the caller, usage and budget, and the OpenAI-compatible door
driven by the real openai client."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import openai
import pytest
import pytest_asyncio

from marketscope_chat.llm.offline import OFFLINE_NOTE
from marketscope_chat.main import create_app
from marketscope_chat.settings import Settings
from marketscope_platform.aws import AwsSettings
from marketscope_servicekit import Identity
from marketscope_servicekit.testing import GatewaySigner, served

from .sse import parse_sse
from .tool_services import Services, running_services

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]
ROOT = Path(__file__).resolve().parents[3]
EVENT_SCHEMA = json.loads((ROOT / "tests/contract/chat/stream-events.json").read_text())
QUESTIONS = json.loads((Path(__file__).parent / "offline_questions.json").read_text())
NOTE = (
    "# Drawdown and volatility\n\nA drawdown is the fall from a peak to a trough. "
    "Volatility is the annualised standard deviation of daily returns; a Sharpe ratio "
    "above one is good. RSI above seventy reads as overbought.\n"
)


@dataclass
class Chat:
    url: str
    key: str
    services: Services

    def client(self, user: str) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            base_url=self.url, timeout=60.0, auth=GatewaySigner(self.key, Identity(user))
        )


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def chat(
    provisioned: str, aws_settings: AwsSettings, internal_key: str, tmp_path_factory: Any
) -> AsyncIterator[Chat]:
    index = tmp_path_factory.mktemp("chat-rag") / "chroma"
    async with AsyncExitStack() as stack:
        services = await stack.enter_async_context(
            running_services(aws_settings, index, internal_key)
        )
        app = create_app(
            Settings(market_data_url=services.market_data_url, rag_url=services.rag_url),
            aws_settings,
        )
        url = await stack.enter_async_context(served(app))
        yield Chat(url, internal_key, services)


def user() -> str:
    return f"user-{uuid.uuid4().hex[:8]}"


async def ask(client: httpx.AsyncClient, conversation: str, text: str) -> list[tuple[str, Any]]:
    response = await client.post(f"/conversations/{conversation}/messages", json={"content": text})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/event-stream")
    return parse_sse(response.text)


async def test_a_streamed_turn_from_the_offline_engine(chat: Chat) -> None:
    async with chat.client(user()) as client:
        created = await client.post("/conversations", json={})
        assert created.status_code == 201
        frames = await ask(client, created.json()["id"], "What is AAPL trading at?")
    names = [name for name, _ in frames]
    assert names[0] == "message.started"
    assert names[-1] == "message.completed"
    assert {"tool_call.started", "tool_call.completed", "grounding", "usage"} <= set(names)
    for name, data in frames:
        jsonschema.validate(data, EVENT_SCHEMA)
        assert data["type"] == name
    started = frames[0][1]
    assert started["offline"]
    assert started["provider"] == "offline"
    done = next(d for n, d in frames if n == "tool_call.completed")
    assert (done["name"], done["ok"], done["arguments"]) == ("quote", True, {"symbol": "AAPL"})
    grounding = next(d for n, d in frames if n == "grounding")
    assert grounding["ungrounded"] == 0
    assert grounding["grounded"] >= 1
    text = "".join(d["text"] for n, d in frames if n == "message.delta")
    assert text == frames[-1][1]["text"]
    assert text.startswith(OFFLINE_NOTE)


async def test_conversations_are_the_owners_only(chat: Chat) -> None:
    owner, other = user(), user()
    async with chat.client(owner) as mine, chat.client(other) as theirs:
        conversation = (await mine.post("/conversations", json={"title": "AAPL"})).json()["id"]
        await ask(mine, conversation, "What is IBM trading at?")
        for response in (
            await theirs.get(f"/conversations/{conversation}"),
            await theirs.post(f"/conversations/{conversation}/messages", json={"content": "hi"}),
            await theirs.delete(f"/conversations/{conversation}"),
        ):
            assert response.status_code == 404
            assert response.headers["content-type"] == "application/problem+json"
        assert (await theirs.get("/conversations")).json()["items"] == []
        detail = (await mine.get(f"/conversations/{conversation}")).json()
        assert [m["role"] for m in detail["messages"]] == ["user", "assistant"]
        answer = detail["messages"][1]
        assert answer["tool_calls"][0]["name"] == "quote"
        assert answer["usage"]["prompt_tokens"] > 0
        assert all(g["status"] != "ungrounded" for g in answer["grounding"])
        listed = (await mine.get("/conversations")).json()["items"]
        assert [(c["id"], c["message_count"]) for c in listed] == [(conversation, 2)]
        assert (await mine.delete(f"/conversations/{conversation}")).status_code == 204
        assert (await mine.get(f"/conversations/{conversation}")).status_code == 404


async def test_the_whole_answer_as_json(chat: Chat) -> None:
    async with chat.client(user()) as client:
        conversation = (await client.post("/conversations", json={})).json()["id"]
        response = await client.post(
            f"/conversations/{conversation}/messages",
            json={"content": "Compare AAPL and MSFT"},
            headers={"Accept": "application/json"},
        )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["message"]["role"] == "assistant"
    assert body["message"]["content"] == body["events"][-1]["text"]
    assert [c["name"] for c in body["message"]["tool_calls"]] == ["compare"]


async def test_tools_run_as_the_caller(chat: Chat) -> None:
    alice, bob = user(), user()
    async with chat.services.direct(chat.services.market_data_url, Identity(alice)) as direct:
        saved = await direct.put(f"/watchlists/{alice}", json={"symbols": ["IBM", "MSFT"]})
        assert saved.status_code == 200, saved.text
    document = await chat.services.upload(alice, "alice-risk-notes.md", NOTE)
    async with chat.client(alice) as as_alice, chat.client(bob) as as_bob:
        mine = (await as_alice.post("/conversations", json={})).json()["id"]
        frames = await ask(as_alice, mine, "How risky is my watchlist?")
        risk = [d for n, d in frames if n == "tool_call.started" and d["name"] == "risk"]
        assert sorted(risk[0]["arguments"]["symbols"]) == ["IBM", "MSFT"]
        frames = await ask(as_alice, mine, "What do my documents say about drawdown?")
        cited = [d for n, d in frames if n == "citation"]
        assert cited
        assert cited[0]["document_id"] == document
        theirs = (await as_bob.post("/conversations", json={})).json()["id"]
        frames = await ask(as_bob, theirs, "What do my documents say about drawdown?")
        assert not [d for n, d in frames if n == "citation" and d["document_id"] == document]
        assert document not in json.dumps(frames)


async def test_the_offline_engine_grounds_every_number_of_its_answers(chat: Chat) -> None:
    owner = user()
    await chat.services.upload(owner, "research.md", NOTE)
    async with chat.services.direct(chat.services.market_data_url, Identity(owner)) as direct:
        watchlist = next(q["watchlist"] for q in QUESTIONS if "watchlist" in q)
        await direct.put(f"/watchlists/{owner}", json={"symbols": watchlist})
    async with chat.client(owner) as client:
        for question in QUESTIONS:
            conversation = (await client.post("/conversations", json={})).json()["id"]
            frames = await ask(client, conversation, question["question"])
            called = {d["name"] for n, d in frames if n == "tool_call.started"}
            assert set(question["tools"]) <= called, question
            grounding = next(d for n, d in frames if n == "grounding")
            ungrounded = [x["text"] for x in grounding["numbers"] if x["status"] == "ungrounded"]
            assert ungrounded == [], (question["question"], frames[-1][1]["text"])
            assert frames[-1][0] == "message.completed"


async def test_usage_and_a_spent_budget(chat: Chat, aws_settings: AwsSettings) -> None:
    owner = user()
    async with chat.client(owner) as client:
        conversation = (await client.post("/conversations", json={})).json()["id"]
        await ask(client, conversation, "What is MSFT trading at?")
        usage = (await client.get("/usage")).json()
    assert usage["today"]["tokens"] > 0
    assert usage["today"]["model_calls"] == 2
    assert [m["model"] for m in usage["by_model"]] == ["marketscope-offline"]
    assert usage["budget"]["tokens_left"] == 500_000 - usage["today"]["tokens"]
    tight = create_app(
        Settings(
            market_data_url=chat.services.market_data_url,
            rag_url=chat.services.rag_url,
            daily_token_budget=usage["today"]["tokens"],
        ),
        aws_settings,
    )
    async with (
        served(tight) as url,
        httpx.AsyncClient(base_url=url, auth=GatewaySigner(chat.key, Identity(owner))) as client,
    ):
        refused = await client.post(
            f"/conversations/{conversation}/messages", json={"content": "And IBM?"}
        )
    assert refused.status_code == 429
    assert refused.headers["content-type"] == "application/problem+json"
    problem = refused.json()
    assert problem["type"] == "urn:marketscope:problem:budget-exceeded"
    assert int(refused.headers["Retry-After"]) > 0
    assert problem["resets_at"].endswith("+00:00")


async def test_the_openai_door_with_the_openai_client(chat: Chat) -> None:
    # The async client: the served app runs in this test's event loop.
    http = httpx.AsyncClient(auth=GatewaySigner(chat.key, Identity(user())), timeout=60.0)
    client = openai.AsyncOpenAI(
        base_url=f"{chat.url}/openai/v1", api_key="unused", http_client=http
    )
    assert [m.id async for m in client.models.list()] == ["marketscope"]
    messages: list[Any] = [{"role": "user", "content": "What is AAPL trading at?"}]
    whole = await client.chat.completions.create(model="marketscope", messages=messages)
    content = whole.choices[0].message.content or ""
    assert content.startswith(OFFLINE_NOTE)
    assert whole.usage is not None
    assert whole.usage.total_tokens > 0
    stream = await client.chat.completions.create(
        model="marketscope",
        messages=messages,
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = [chunk async for chunk in stream]
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == content
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.total_tokens > 0
    with pytest.raises(openai.NotFoundError):
        await client.chat.completions.create(model="gpt-4o", messages=messages)
    await http.aclose()
