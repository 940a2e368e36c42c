"""The chat service with a real provider adapter: the openai client inside the service
talks to a loopback server speaking OpenAI's wire format. Keys come from the Secrets
Manager secret (on the emulator) or the settings; a client that walks away ends the
model's stream."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import pytest_asyncio

from marketscope_chat.main import create_app
from marketscope_chat.settings import ModelPrice, Settings
from marketscope_market_data.main import create_app as create_market_data
from marketscope_market_data.settings import Settings as MarketDataSettings
from marketscope_platform.aws import AwsClients, AwsSettings
from marketscope_servicekit import Identity
from marketscope_servicekit.testing import GatewaySigner, served

from .openai_server import (
    Pause,
    ScriptedOpenAI,
    finish_chunk,
    role_chunk,
    streamed,
    text_chunk,
    tool_call_chunk,
    usage_chunk,
)
from .sse import parse_sse

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]


@dataclass
class Stack:
    llm: ScriptedOpenAI
    llm_url: str
    market_data_url: str
    aws_settings: AwsSettings
    key: str


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def stack(
    provisioned: str, aws_settings: AwsSettings, internal_key: str
) -> AsyncIterator[Stack]:
    llm = ScriptedOpenAI()
    async with AsyncExitStack() as started:
        llm_url = await started.enter_async_context(served(llm.app))
        market_data = create_market_data(
            MarketDataSettings(embedded_scheduler=False, live_refresh=False), aws_settings
        )
        market_data_url = await started.enter_async_context(served(market_data))
        yield Stack(llm, llm_url, market_data_url, aws_settings, internal_key)


async def chat_app(stack: Stack, **settings: Any) -> Any:
    values: dict[str, Any] = {
        "market_data_url": stack.market_data_url,
        "llm_provider": "compatible",
        "llm_model": "gpt-4o-mini",
        "llm_base_url": f"{stack.llm_url}/v1",
        "llm_max_retries": 0,
        **settings,
    }
    return create_app(Settings(**values), stack.aws_settings)


def quote_then_answer(answer: str) -> list[Any]:
    return [
        streamed(
            role_chunk(),
            tool_call_chunk(0, call_id="call_q", name="quote", arguments='{"sym'),
            tool_call_chunk(0, arguments='bol": "AAPL"}'),
            finish_chunk("tool_calls"),
            usage_chunk(321, 12),
        ),
        streamed(role_chunk(), text_chunk(answer), finish_chunk(), usage_chunk(654, 21)),
    ]


async def turn(client: httpx.AsyncClient, question: str) -> httpx.Response:
    conversation = (await client.post("/conversations", json={})).json()["id"]
    return await client.post(f"/conversations/{conversation}/messages", json={"content": question})


async def test_a_turn_through_a_compatible_server(stack: Stack) -> None:
    stack.llm.enqueue(*quote_then_answer("AAPL closed at the price the quote tool gave."))
    app = await chat_app(stack, prices={"gpt-4o-mini": ModelPrice(input=1.0, output=2.0)})
    async with (
        served(app) as url,
        httpx.AsyncClient(
            base_url=url, auth=GatewaySigner(stack.key, Identity(f"u-{uuid.uuid4().hex[:6]}"))
        ) as client,
    ):
        response = await turn(client, "What is AAPL at?")
    frames = parse_sse(response.text)
    names = [name for name, _ in frames]
    assert names[0] == "message.started"
    assert frames[0][1]["offline"] is False
    done = next(d for n, d in frames if n == "tool_call.completed")
    assert (done["call_id"], done["arguments"], done["ok"]) == ("call_q", {"symbol": "AAPL"}, True)
    usage = next(d for n, d in frames if n == "usage")
    assert (usage["prompt_tokens"], usage["completion_tokens"]) == (975, 33)
    assert usage["estimated"] is False
    assert usage["cost_usd"] == pytest.approx((975 * 1.0 + 33 * 2.0) / 1e6)
    first, second = stack.llm.chat_requests[-2:]
    assert first.body["stream"] is True
    assert first.body["stream_options"] == {"include_usage": True}
    assert {tool["function"]["name"] for tool in first.body["tools"]} >= {"quote", "risk"}
    tool_message = second.body["messages"][-1]
    assert tool_message["role"] == "tool"
    assert tool_message["tool_call_id"] == "call_q"
    assert json.loads(tool_message["content"])["symbol"] == "AAPL"


async def make_secret(stack: Stack, value: dict[str, str]) -> str:
    """A secret of this test's own (the shared one is every service's)."""
    name = f"test/chat-{uuid.uuid4().hex[:8]}"
    aws = AwsClients(stack.aws_settings)
    try:
        secrets = await aws.client("secretsmanager")
        await secrets.create_secret(Name=name, SecretString=json.dumps(value))
    finally:
        await aws.close()
    return name


async def test_the_key_comes_from_the_secret_unless_the_settings_give_one(stack: Stack) -> None:
    secret_name = await make_secret(stack, {"openai_api_key": "sk-from-the-secret"})
    for settings, expected in (
        ({"secret_name": secret_name}, "Bearer sk-from-the-secret"),
        ({"secret_name": secret_name, "llm_api_key": "sk-override"}, "Bearer sk-override"),
    ):
        stack.llm.enqueue(
            streamed(role_chunk(), text_chunk("Hello."), finish_chunk(), usage_chunk(5, 2))
        )
        app = await chat_app(stack, llm_provider="openai", **settings)
        async with (
            served(app) as url,
            httpx.AsyncClient(
                base_url=url, auth=GatewaySigner(stack.key, Identity("u-key"))
            ) as client,
        ):
            response = await turn(client, "hello")
        assert response.status_code == 200
        assert stack.llm.chat_requests[-1].headers["authorization"] == expected


async def test_no_key_anywhere_is_503_before_the_stream(stack: Stack) -> None:
    secret_name = await make_secret(stack, {"openai_api_key": ""})
    app = await chat_app(stack, llm_provider="openai", secret_name=secret_name)
    async with (
        served(app) as url,
        httpx.AsyncClient(
            base_url=url, auth=GatewaySigner(stack.key, Identity("u-nokey"))
        ) as client,
    ):
        response = await turn(client, "hello")
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert "MARKETSCOPE_CHAT_LLM_API_KEY" in response.json()["detail"]


async def test_a_client_that_leaves_ends_the_models_stream(stack: Stack) -> None:
    stack.llm.enqueue(
        streamed(role_chunk(), text_chunk("Thinking"), Pause(30), text_chunk(" done."))
    )
    app = await chat_app(stack)
    async with (
        served(app) as url,
        httpx.AsyncClient(
            base_url=url, auth=GatewaySigner(stack.key, Identity("u-leaves"))
        ) as client,
    ):
        conversation = (await client.post("/conversations", json={})).json()["id"]
        async with client.stream(
            "POST", f"/conversations/{conversation}/messages", json={"content": "slow"}
        ) as response:
            async for line in response.aiter_lines():
                if line.startswith("event: message.delta"):
                    break
        record = stack.llm.chat_requests[-1]
        await stack.llm.wait_disconnected(record, within=10)
        assert not record.finished
        # The unfinished answer is stored as such.
        for _ in range(50):
            detail = (await client.get(f"/conversations/{conversation}")).json()
            if len(detail["messages"]) == 2:
                break
            await asyncio.sleep(0.1)
        answer = detail["messages"][1]
        assert answer["finish_reason"] == "error"
        assert answer["content"] == ""
