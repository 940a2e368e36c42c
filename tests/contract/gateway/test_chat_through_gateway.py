"""The analyst as the gateway's clients see it, on the real stack (gateway, chat with the
offline engine, market-data, rag; ``tests/stack.py``): the streamed events validate
against the committed schema and arrive as they are written, and the OpenAI-compatible
door answers the real openai client authenticated by a personal API key, as the README's
example does."""

from __future__ import annotations

import asyncio
import json
import re
import time
from pathlib import Path
from typing import Any

import jsonschema
import openai

from marketscope_chat.llm.offline import OFFLINE_NOTE

from ...stack import Account, Stack, in_stack_loop

ROOT = Path(__file__).resolve().parents[3]
EVENT_SCHEMA = json.loads((ROOT / "tests/contract/chat/stream-events.json").read_text())


async def own_account(stack: Stack, label: str) -> Account:
    """An account of this test's own: the stack's A and B belong to the authorization
    matrix, which knows exactly what they own."""
    return await stack.api.register(label)


async def new_key(stack: Stack, owner: Account) -> str:
    created = await stack.client.post(
        "/api/v1/api-keys", json={"name": "contract"}, headers=owner.headers
    )
    assert created.status_code == 201, created.text
    key: str = created.json()["key"]
    return key


def frames_of(lines: list[str]) -> list[tuple[str, Any]]:
    frames, event = [], None
    for line in lines:
        if line.startswith("event: "):
            event = line[7:]
        elif line.startswith("data: ") and event is not None:
            frames.append((event, json.loads(line[6:])))
    return frames


@in_stack_loop
async def test_streamed_events_follow_the_schema_and_arrive_as_written(stack: Stack) -> None:
    owner = await own_account(stack, "stream")
    created = await stack.client.post("/api/v1/conversations", json={}, headers=owner.headers)
    assert created.status_code == 201, created.text
    path = f"/api/v1/conversations/{created.json()['id']}/messages"
    arrivals: list[float] = []
    lines: list[str] = []
    async with stack.client.stream(
        "POST",
        path,
        json={"content": "Compare AAPL and MSFT, and what is the RSI of IBM?"},
        headers=owner.headers,
    ) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        async for line in response.aiter_lines():
            if line.startswith("event: "):
                arrivals.append(time.perf_counter())
            lines.append(line)
    frames = frames_of(lines)
    assert frames[0][0] == "message.started"
    assert frames[-1][0] == "message.completed"
    for name, data in frames:
        jsonschema.validate(data, EVENT_SCHEMA)
        assert data["type"] == name
    calls = [d["name"] for n, d in frames if n == "tool_call.completed"]
    assert set(calls) == {"compare", "indicators"}
    grounding = next(d for n, d in frames if n == "grounding")
    assert grounding["ungrounded"] == 0
    # Not buffered: the events came over a span of time, not all in one read.
    assert len({round(t, 4) for t in arrivals}) > 1


@in_stack_loop
async def test_the_openai_client_with_a_personal_key(stack: Stack) -> None:
    key = await new_key(stack, await own_account(stack, "openai"))
    door = f"{str(stack.client.base_url).rstrip('/')}/openai/v1"
    client = openai.AsyncOpenAI(base_url=door, api_key=key)
    assert [m.id async for m in client.models.list()] == ["marketscope"]
    messages: list[Any] = [{"role": "user", "content": "What is IBM trading at?"}]
    whole = await client.chat.completions.create(model="marketscope", messages=messages)
    content = whole.choices[0].message.content or ""
    assert content.startswith(OFFLINE_NOTE)
    assert whole.usage is not None
    assert whole.usage.prompt_tokens > 0
    chunks = [
        chunk
        async for chunk in await client.chat.completions.create(
            model="marketscope",
            messages=messages,
            stream=True,
            stream_options={"include_usage": True},
        )
    ]
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == content
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.total_tokens == whole.usage.total_tokens
    refused = openai.AsyncOpenAI(base_url=door, api_key="msk_deadbeef_not-a-key")
    try:
        await refused.models.list()
    except openai.AuthenticationError:
        pass
    else:
        raise AssertionError("an unknown key was accepted")
    await client.close()
    await refused.close()


@in_stack_loop
async def test_the_readme_example_runs_against_the_stack(stack: Stack) -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## The analyst", 1)[1].split("\n## ", 1)[0]
    [example] = re.findall(r"```python\n(.*?)\n```", section, flags=re.DOTALL)
    assert len([line for line in example.splitlines() if line.strip()]) == 5
    key = await new_key(stack, await own_account(stack, "readme"))
    code = example.replace("http://127.0.0.1:8000", str(stack.client.base_url).rstrip("/"))
    code = code.replace("msk_your_key", key)
    printed: list[str] = []
    namespace: dict[str, Any] = {"print": lambda *args: printed.append(" ".join(map(str, args)))}
    # The example's client is synchronous: it runs in a thread while the stack serves.
    await asyncio.to_thread(exec, compile(code, "README.md", "exec"), namespace)
    [answer] = printed
    assert answer.startswith(OFFLINE_NOTE)
    assert "AAPL" in answer
