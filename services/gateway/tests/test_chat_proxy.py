"""The chat analyst through the gateway: conversations and usage relayed with the
caller's identity, messages streamed through unbuffered (over real HTTP on both hops),
a client that leaves closing the stream to chat, problems before the stream relayed,
and the OpenAI-compatible door driven by the openai client itself."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import openai
import pytest

from .conftest import MakeGateway
from .fakes import FakeChat, Unreachable

pytestmark = pytest.mark.integration
QUESTION = {"content": "How wide are Apple's margins?"}
STREAM = {"Accept": "text/event-stream"}
REPLY = "Apple's margins are wide."


async def events(response: httpx.Response) -> AsyncIterator[tuple[str, Any]]:
    """The server-sent events of ``response`` as they arrive: (event, data)."""
    event, data = "message", ""
    async for line in response.aiter_lines():
        if line.startswith("event: "):
            event = line.removeprefix("event: ")
        elif line.startswith("data: "):
            data = line.removeprefix("data: ")
        elif line == "" and data:
            yield event, json.loads(data)
            event, data = "message", ""


async def conversation(client: httpx.AsyncClient, auth: dict[str, str]) -> str:
    created = await client.post("/api/v1/conversations", json={"title": "AAPL"}, headers=auth)
    assert created.status_code == 201, created.text
    conversation_id: str = created.json()["id"]
    return conversation_id


async def test_the_stream_reaches_the_client_before_chat_has_finished(
    make_served_gateway: MakeGateway,
) -> None:
    hold = asyncio.Event()
    chat = FakeChat(hold=hold)
    async with make_served_gateway(chat=chat) as gw:
        _, auth, tokens = await gw.user()
        conversation_id = await conversation(gw.client, auth)
        # The client's JSON goes to chat byte for byte (and signed for those bytes).
        sent = b'{"content": "How wide are Apple\'s margins?",  "locale": "en"}'
        headers = {**auth, **STREAM, "Content-Type": "application/json"}
        path = f"/api/v1/conversations/{conversation_id}/messages"
        async with gw.client.stream("POST", path, content=sent, headers=headers) as response:
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            assert response.headers["cache-control"] == "no-cache"
            assert response.headers["x-accel-buffering"] == "no"
            received = events(response)
            # chat holds the rest until this first event has come through the gateway:
            # a gateway that buffered would wait for chat's end, which never comes.
            first = await asyncio.wait_for(anext(received), timeout=10)
            assert first[0] == "message.started"
            assert chat.completed == 0
            hold.set()
            rest = [event async for event in received]
    assert [name for name, _ in rest] == ["message.delta"] * 4 + ["usage", "message.completed"]
    assert rest[-1][1]["content"] == REPLY
    assert chat.completed == 1
    assert chat.bodies[-1] == sent
    assert chat.accepts[-1] == "text/event-stream"
    assert chat.callers[-1].user_id == tokens["user"]["user_id"]


async def test_a_client_that_leaves_closes_the_stream_to_chat(
    make_served_gateway: MakeGateway,
) -> None:
    chat = FakeChat(hold=asyncio.Event())  # never set: chat would stream on forever
    async with make_served_gateway(chat=chat) as gw:
        _, auth, _ = await gw.user()
        conversation_id = await conversation(gw.client, auth)
        path = f"/api/v1/conversations/{conversation_id}/messages"
        headers = {**auth, **STREAM}
        async with gw.client.stream("POST", path, json=QUESTION, headers=headers) as response:
            first = await asyncio.wait_for(anext(events(response)), timeout=10)
            assert first[0] == "message.started"
            assert not chat.cut_short.is_set()
        # Closed unread: the connection to the gateway goes, then the gateway's to chat.
        await asyncio.wait_for(chat.cut_short.wait(), timeout=10)
        assert chat.completed == 0
        # The gateway serves on.
        assert (await gw.client.get("/api/v1/usage", headers=auth)).status_code == 200


async def test_a_silent_stream_ends_after_the_idle_timeout(
    make_served_gateway: MakeGateway,
) -> None:
    chat = FakeChat(hold=asyncio.Event())  # goes silent after its first event
    async with make_served_gateway(chat=chat, chat_idle_timeout=0.5) as gw:
        _, auth, _ = await gw.user()
        conversation_id = await conversation(gw.client, auth)
        path = f"/api/v1/conversations/{conversation_id}/messages"
        async with gw.client.stream("POST", path, json=QUESTION, headers=auth) as response:
            received = [name async for name, _ in events(response)]
        assert received == ["message.started"]  # ended cleanly, with no final event
        await asyncio.wait_for(chat.cut_short.wait(), timeout=10)


async def test_problems_before_the_stream_are_relayed_naming_the_gateway_path(
    make_gateway: MakeGateway,
) -> None:
    chat = FakeChat()
    async with make_gateway(chat=chat) as gw:
        _, auth, _ = await gw.user()
        _, other_auth, _ = await gw.user()
        conversation_id = await conversation(gw.client, auth)
        path = f"/api/v1/conversations/{conversation_id}/messages"

        # Another user's conversation is not found, whatever the route.
        for method in ("GET", "DELETE"):
            response = await gw.client.request(
                method, f"/api/v1/conversations/{conversation_id}", headers=other_auth
            )
            assert response.status_code == 404, (method, response.text)
        theirs = await gw.client.post(path, json=QUESTION, headers={**other_auth, **STREAM})
        assert theirs.status_code == 404
        assert theirs.headers["content-type"] == "application/problem+json"
        assert theirs.json()["instance"] == path
        assert conversation_id in chat.conversations

        empty = await gw.client.post(path, json={"content": " "}, headers=auth)
        assert empty.status_code == 422  # chat's own rule, relayed
        assert empty.json()["detail"] == "A message needs content."
        assert empty.json()["instance"] == path

        chat.budget_spent = True
        spent = await gw.client.post(path, json=QUESTION, headers={**auth, **STREAM})
        assert spent.status_code == 429
        assert spent.headers["retry-after"] == "3600"
        assert spent.json()["instance"] == path

        missing = await gw.client.post(path, json={"text": "no content"}, headers=auth)
        assert missing.status_code == 422  # the gateway's own check: chat never saw it
        assert len(chat.bodies) == 3


async def test_conversations_and_usage_are_relayed_for_the_caller(
    make_gateway: MakeGateway,
) -> None:
    chat = FakeChat()
    async with make_gateway(chat=chat) as gw:
        _, auth, tokens = await gw.user()
        _, other_auth, other_tokens = await gw.user()
        ids = [await conversation(gw.client, auth) for _ in range(3)]
        await conversation(gw.client, other_auth)
        owners = [tokens["user"]["user_id"]] * 3 + [other_tokens["user"]["user_id"]]
        assert [caller.user_id for caller in chat.callers] == owners

        page = await gw.client.get("/api/v1/conversations", params={"limit": 2}, headers=auth)
        assert page.status_code == 200
        assert [item["id"] for item in page.json()["items"]] == ids[:2]
        cursor = page.json()["next_cursor"]
        last = await gw.client.get(
            "/api/v1/conversations", params={"limit": 2, "cursor": cursor}, headers=auth
        )
        assert [item["id"] for item in last.json()["items"]] == ids[2:]
        assert last.json()["next_cursor"] is None
        too_many = await gw.client.get("/api/v1/conversations?limit=101", headers=auth)
        assert too_many.status_code == 422

        answered = await gw.client.post(
            f"/api/v1/conversations/{ids[0]}/messages",
            json=QUESTION,
            headers={**auth, "Accept": "application/json"},
        )
        assert answered.status_code == 200
        assert answered.headers["content-type"] == "application/json"
        assert answered.json()["message"]["content"] == REPLY
        read = await gw.client.get(f"/api/v1/conversations/{ids[0]}", headers=auth)
        assert read.json()["message_count"] == 2
        assert [m["role"] for m in read.json()["messages"]] == ["user", "assistant"]

        deleted = await gw.client.delete(f"/api/v1/conversations/{ids[0]}", headers=auth)
        assert deleted.status_code == 204
        assert (
            await gw.client.get(f"/api/v1/conversations/{ids[0]}", headers=auth)
        ).status_code == 404

        usage = await gw.client.get("/api/v1/usage", headers=auth)
        assert usage.status_code == 200
        assert set(usage.json()) >= {"today", "month", "by_model", "budget"}
        assert usage.json()["user_id"] == tokens["user"]["user_id"]


async def test_chat_down_is_503_and_no_caller_is_401(make_gateway: MakeGateway) -> None:
    async with make_gateway(transports={"chat": Unreachable()}) as gw:
        _, auth, _ = await gw.user()
        for response in (
            await gw.client.get("/api/v1/conversations", headers=auth),
            await gw.client.post("/api/v1/conversations/c1/messages", json=QUESTION, headers=auth),
            await gw.client.get("/openai/v1/models", headers=auth),
        ):
            assert response.status_code == 503
            assert response.json()["service"] == "chat"
        anonymous = await gw.client.get("/openai/v1/models")
        assert anonymous.status_code == 401
        assert anonymous.headers["content-type"] == "application/problem+json"


async def test_the_openai_client_talks_to_the_door_with_an_api_key(
    make_served_gateway: MakeGateway,
) -> None:
    chat = FakeChat()
    async with make_served_gateway(chat=chat) as gw:
        _, auth, tokens = await gw.user()
        key = (await gw.api_key(auth))["key"]
        client = openai.OpenAI(base_url=f"{gw.url}/openai/v1", api_key=key, max_retries=0)
        messages: list[Any] = [{"role": "user", "content": "How wide are Apple's margins?"}]

        # The openai client blocks: it runs in a thread while this loop serves.
        models = await asyncio.to_thread(client.models.list)
        assert [model.id for model in models.data] == ["marketscope"]

        completion = await asyncio.to_thread(
            lambda: client.chat.completions.create(model="marketscope", messages=messages)
        )
        assert completion.object == "chat.completion"
        assert completion.choices[0].message.content == REPLY
        assert completion.usage is not None
        assert completion.usage.total_tokens == 16

        def streamed() -> list[Any]:
            stream = client.chat.completions.create(
                model="marketscope",
                messages=messages,
                stream=True,
                stream_options={"include_usage": True},
            )
            return list(stream)

        chunks = await asyncio.to_thread(streamed)
        text = "".join(chunk.choices[0].delta.content or "" for chunk in chunks if chunk.choices)
        assert text == REPLY
        assert chunks[-1].choices == []
        assert chunks[-1].usage.total_tokens == 16
        sent = json.loads(chat.bodies[-1])
        assert sent["stream"] is True
        assert sent["stream_options"] == {"include_usage": True}
        assert chat.callers[-1].user_id == tokens["user"]["user_id"]

        # An access token opens the door too; nothing else does.
        as_session = await gw.client.get("/openai/v1/models", headers=auth)
        assert as_session.status_code == 200
        refused = openai.OpenAI(
            base_url=f"{gw.url}/openai/v1", api_key="msk_00000000_" + "x" * 43, max_retries=0
        )
        with pytest.raises(openai.AuthenticationError):
            await asyncio.to_thread(refused.models.list)
