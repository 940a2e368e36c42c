"""The chat-completions adapter driving the real openai client against a scripted
server on loopback that speaks the providers' wire formats (OpenAI, Azure, Ollama, vLLM)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import aclosing
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast

import httpx
import pytest

from marketscope_chat.llm.base import (
    ChatModel,
    ModelError,
    ModelEvent,
    ModelRateLimited,
    ModelReply,
    ModelRequest,
    ModelTimeout,
    ModelUnavailable,
    ProviderName,
    TextDelta,
    ToolCall,
    ToolSpec,
)
from marketscope_chat.llm.openai import retry_after_seconds
from marketscope_chat.llm.providers import ProviderConfig, open_model
from marketscope_chat.llm.tokens import count_tokens, messages_tokens
from marketscope_servicekit.testing import free_port, served

from .openai_server import (
    JsonReply,
    Pause,
    ScriptedOpenAI,
    azure_content_filter_chunk,
    azure_prompt_filter_chunk,
    chunk,
    completion,
    error_body,
    finish_chunk,
    role_chunk,
    streamed,
    text_chunk,
    tool_call_chunk,
    tool_call_delta,
    tool_calls_chunk,
    usage,
    usage_chunk,
)

API_VERSION = "2024-10-21"
QUOTE = ToolSpec(
    "get_quote",
    "The latest quote of one symbol.",
    {"type": "object", "properties": {"symbol": {"type": "string"}}, "required": ["symbol"]},
)
MESSAGES = [
    {"role": "system", "content": "You answer questions about stocks."},
    {"role": "user", "content": "How are Apple and Microsoft doing today?"},
]


@dataclass
class Endpoint:
    server: ScriptedOpenAI
    url: str
    opened: list[ChatModel] = field(default_factory=list)

    def model(
        self, model: str = "gpt-4o-mini", *, provider: ProviderName = "openai", **options: Any
    ) -> ChatModel:
        settings: dict[str, Any] = {"api_key": "sk-test", "max_retries": 0}
        if provider == "azure":
            settings |= {"azure_endpoint": self.url, "api_version": API_VERSION}
        else:
            settings["base_url"] = f"{self.url}/v1"
        opened = open_model(ProviderConfig(provider=provider, model=model, **settings | options))
        self.opened.append(opened)
        return opened

    @property
    def sent(self) -> dict[str, Any]:
        """The JSON body of the last chat request."""
        body: dict[str, Any] = self.server.chat_requests[-1].body
        return body


@pytest.fixture
async def api() -> AsyncIterator[Endpoint]:
    server = ScriptedOpenAI()
    async with served(server.app) as url:
        endpoint = Endpoint(server, url)
        yield endpoint
        for model in endpoint.opened:
            await model.aclose()


async def collect(
    model: ChatModel, request: ModelRequest | None = None
) -> tuple[list[str], ModelReply]:
    deltas: list[str] = []
    replies: list[ModelReply] = []
    async for event in model.stream(request or ModelRequest(MESSAGES, (QUOTE,))):
        if isinstance(event, TextDelta):
            assert not replies, "text after the reply"
            deltas.append(event.text)
        else:
            replies.append(event)
    assert len(replies) == 1
    return deltas, replies[0]


async def read_into(deltas: list[str], events: AsyncIterator[ModelEvent]) -> None:
    async for event in events:
        assert isinstance(event, TextDelta)
        deltas.append(event.text)


async def test_text_streams_as_deltas_then_one_reply_with_the_final_usage(api: Endpoint) -> None:
    api.server.enqueue(
        streamed(
            role_chunk(),
            text_chunk("Apple is "),
            text_chunk("up 1%."),
            finish_chunk("stop"),
            usage_chunk(42, 7),  # choices: [] -- the include_usage chunk
        )
    )
    deltas, reply = await collect(api.model())
    assert deltas == ["Apple is ", "up 1%."]
    assert reply.text == "Apple is up 1%."
    assert reply.tool_calls == ()
    assert (reply.finish_reason, reply.model) == ("stop", "gpt-4o-mini")
    assert reply.usage is not None
    assert (reply.usage.prompt_tokens, reply.usage.completion_tokens) == (42, 7)
    assert reply.usage.estimated is False
    sent = api.sent
    assert sent["stream"] is True
    assert sent["stream_options"] == {"include_usage": True}
    assert sent["messages"] == MESSAGES
    assert sent["tools"] == [QUOTE.as_openai()]
    assert (sent["tool_choice"], sent["parallel_tool_calls"]) == ("auto", True)
    assert api.server.chat_requests[-1].headers["authorization"] == "Bearer sk-test"


async def test_tool_call_arguments_split_mid_argument_are_joined(api: Endpoint) -> None:
    api.server.enqueue(
        streamed(
            role_chunk(),
            tool_call_chunk(0, call_id="call_q1", name="get_quote", arguments=""),
            tool_call_chunk(0, arguments='{"sy'),
            tool_call_chunk(0, arguments='mbol": "AA'),
            tool_call_chunk(0, arguments='PL"}'),
            finish_chunk("tool_calls"),
            usage_chunk(80, 12),
        )
    )
    deltas, reply = await collect(api.model())
    assert deltas == []
    assert reply.tool_calls == (ToolCall("call_q1", "get_quote", '{"symbol": "AAPL"}'),)
    assert reply.finish_reason == "tool_calls"


async def test_two_parallel_calls_at_index_zero_and_one(api: Endpoint) -> None:
    api.server.enqueue(
        streamed(
            tool_call_chunk(0, call_id="call_a", name="get_quote", arguments=""),
            tool_call_chunk(0, arguments='{"symbol": "AAPL"}'),
            tool_call_chunk(1, call_id="call_b", name="get_quote", arguments='{"symbol"'),
            tool_calls_chunk(tool_call_delta(1, arguments=': "MSFT"}')),
            finish_chunk("tool_calls"),
        )
    )
    _, reply = await collect(api.model())
    assert reply.tool_calls == (
        ToolCall("call_a", "get_quote", '{"symbol": "AAPL"}'),
        ToolCall("call_b", "get_quote", '{"symbol": "MSFT"}'),
    )


async def test_ids_repeated_in_every_delta_as_vllm_sends_them(api: Endpoint) -> None:
    call_id = "chatcmpl-tool-8f1c"
    api.server.enqueue(
        streamed(
            tool_call_chunk(0, call_id=call_id, name="get_quote", arguments=""),
            tool_call_chunk(0, call_id=call_id, arguments='{"symbol": '),
            tool_call_chunk(0, call_id=call_id, arguments='"NVDA"}'),
            finish_chunk("tool_calls"),
        )
    )
    _, reply = await collect(api.model("Qwen/Qwen2.5-7B-Instruct", provider="compatible"))
    assert reply.tool_calls == (ToolCall(call_id, "get_quote", '{"symbol": "NVDA"}'),)


async def test_missing_ids_are_generated(api: Endpoint) -> None:
    api.server.enqueue(
        streamed(
            tool_call_chunk(0, name="get_quote", arguments='{"symbol": "AAPL"}'),
            tool_call_chunk(1, name="get_quote", arguments='{"symbol": "MSFT"}'),
            finish_chunk("tool_calls"),
        )
    )
    _, reply = await collect(api.model("llama3.1:8b", provider="compatible"))
    assert [(call.id, call.arguments) for call in reply.tool_calls] == [
        ("call_0", '{"symbol": "AAPL"}'),
        ("call_1", '{"symbol": "MSFT"}'),
    ]


async def test_index_zero_reused_for_two_calls_as_ollama_sends_them(api: Endpoint) -> None:
    # Ollama: each call whole, both at index 0, finish_reason "stop", usage with choices.
    api.server.enqueue(
        streamed(
            tool_call_chunk(0, call_id="call_7x", name="get_quote", arguments='{"symbol":"AAPL"}'),
            tool_call_chunk(0, call_id="call_9k", name="get_quote", arguments='{"symbol":"MSFT"}'),
            chunk({"role": "assistant", "content": ""}, finish_reason="stop", usage=usage(60, 20)),
        )
    )
    _, reply = await collect(api.model("llama3.1:8b", provider="compatible"))
    assert reply.tool_calls == (
        ToolCall("call_7x", "get_quote", '{"symbol":"AAPL"}'),
        ToolCall("call_9k", "get_quote", '{"symbol":"MSFT"}'),
    )
    assert reply.usage is not None
    assert (reply.usage.prompt_tokens, reply.usage.estimated) == (60, False)


async def test_finish_reason_stop_with_tool_calls_keeps_the_calls(api: Endpoint) -> None:
    api.server.enqueue(
        streamed(
            tool_call_chunk(0, call_id="call_1", name="get_quote", arguments='{"symbol": "IBM"}'),
            finish_chunk("stop"),
        )
    )
    _, reply = await collect(api.model())
    assert reply.finish_reason == "stop"
    assert reply.tool_calls == (ToolCall("call_1", "get_quote", '{"symbol": "IBM"}'),)


async def test_azure_deployment_path_and_its_content_filter_chunks(api: Endpoint) -> None:
    api.server.enqueue(
        streamed(
            azure_prompt_filter_chunk(),  # choices: [], model: ""
            role_chunk(model="gpt-4o-2024-08-06"),
            text_chunk("Hello", model="gpt-4o-2024-08-06"),
            text_chunk(" there", model="gpt-4o-2024-08-06"),
            azure_content_filter_chunk(0, 11),  # a choice with no delta
            finish_chunk("stop", model="gpt-4o-2024-08-06"),
            usage_chunk(30, 2, model="gpt-4o-2024-08-06"),
        )
    )
    deltas, reply = await collect(api.model("chat-prod", provider="azure"))
    assert deltas == ["Hello", " there"]
    assert (reply.text, reply.model, reply.finish_reason) == (
        "Hello there",
        "gpt-4o-2024-08-06",
        "stop",
    )
    request = api.server.chat_requests[-1]
    assert request.path == "/openai/deployments/chat-prod/chat/completions"
    assert request.deployment == "chat-prod"
    assert request.query["api-version"] == API_VERSION
    assert request.headers["api-key"] == "sk-test"
    # An unknown deployment name: tools go, parallel_tool_calls does not.
    assert "parallel_tool_calls" not in request.body
    assert request.body["tool_choice"] == "auto"


@pytest.mark.parametrize(
    ("provider", "model", "tool_choice", "parallel"),
    [
        ("openai", "gpt-4o-mini", True, True),
        ("openai", "o4-mini", True, False),
        ("compatible", "llama3.1:8b", False, False),
    ],
)
async def test_only_what_the_model_supports_is_sent(
    api: Endpoint, provider: ProviderName, model: str, tool_choice: bool, parallel: bool
) -> None:
    api.server.enqueue(streamed(text_chunk("ok"), finish_chunk()))
    await collect(api.model(model, provider=provider))
    assert ("tool_choice" in api.sent) is tool_choice
    assert ("parallel_tool_calls" in api.sent) is parallel
    assert api.sent["model"] == model


async def test_without_tools_neither_tool_choice_nor_parallel_calls_is_sent(api: Endpoint) -> None:
    api.server.enqueue(streamed(text_chunk("ok"), finish_chunk()))
    await collect(api.model(), ModelRequest(MESSAGES))
    assert not {"tools", "tool_choice", "parallel_tool_calls"} & set(api.sent)


async def test_a_final_answer_without_tool_choice_is_asked_by_sending_no_tools(
    api: Endpoint,
) -> None:
    api.server.enqueue(streamed(text_chunk("a"), finish_chunk()), streamed(text_chunk("b")))
    final = ModelRequest(MESSAGES, (QUOTE,), tool_choice="none")
    await collect(api.model("gpt-4o"), final)
    assert (api.sent["tool_choice"], len(api.sent["tools"])) == ("none", 1)
    await collect(api.model("mistral:7b", provider="compatible"), final)
    assert "tools" not in api.sent


async def test_token_limit_parameter_and_extra_fields(api: Endpoint) -> None:
    api.server.enqueue(streamed(text_chunk("a")), streamed(text_chunk("b")))
    request = ModelRequest(MESSAGES, max_tokens=256, extra={"temperature": 0.2})
    await collect(api.model("o3"), request)
    assert (api.sent["max_completion_tokens"], api.sent["temperature"]) == (256, 0.2)
    assert "max_tokens" not in api.sent
    await collect(api.model("qwen2.5:7b", provider="compatible"), request)
    assert api.sent["max_tokens"] == 256
    assert "max_completion_tokens" not in api.sent


async def test_include_usage_off_sends_no_stream_options_and_usage_is_estimated(
    api: Endpoint,
) -> None:
    answer = "Apple closed at 190 dollars."
    api.server.enqueue(
        streamed(text_chunk(answer), finish_chunk()),
        streamed(tool_call_chunk(0, call_id="c", name="get_quote", arguments='{"symbol":"A"}')),
    )
    model = api.model(capability_overrides={"include_usage": False})
    _, reply = await collect(model, ModelRequest(MESSAGES))
    assert "stream_options" not in api.sent
    assert reply.usage is not None
    assert reply.usage.estimated is True
    assert reply.usage.prompt_tokens == messages_tokens(MESSAGES)
    assert reply.usage.completion_tokens == count_tokens(answer)

    _, with_tools = await collect(model)  # tools offered, a tool call answered
    assert with_tools.usage is not None
    assert with_tools.usage.estimated is True
    assert with_tools.usage.prompt_tokens > messages_tokens(MESSAGES)  # the tool specs
    assert with_tools.usage.completion_tokens > 0


async def test_a_429_with_retry_after_is_rate_limited(api: Endpoint) -> None:
    message = "Rate limit reached for gpt-4o-mini on requests per min (RPM)."
    api.server.enqueue(
        JsonReply(
            error_body(message, type_="requests", code="rate_limit_exceeded"),
            status=429,
            headers={"retry-after": "7"},
        )
    )
    with pytest.raises(ModelRateLimited) as caught:
        await collect(api.model())
    assert caught.value.retry_after == 7.0
    assert str(caught.value) == message


async def test_the_clients_retries_run_first_and_a_429_left_over_surfaces(api: Endpoint) -> None:
    limited = JsonReply(
        error_body("slow down", type_="requests"), status=429, headers={"retry-after-ms": "10"}
    )
    api.server.enqueue(limited, streamed(text_chunk("fine"), finish_chunk()))
    _, reply = await collect(api.model(max_retries=1))
    assert reply.text == "fine"
    assert len(api.server.chat_requests) == 2

    api.server.enqueue(limited, limited)
    with pytest.raises(ModelRateLimited) as caught:
        await collect(api.model(max_retries=1))
    assert caught.value.retry_after == pytest.approx(0.01)
    assert len(api.server.chat_requests) == 4


def test_retry_after_as_an_http_date() -> None:
    now = datetime(2025, 3, 4, 12, 0, 0, tzinfo=UTC)
    headers = {"Retry-After": "Tue, 04 Mar 2025 12:00:30 GMT"}
    assert retry_after_seconds(headers, now) == 30.0
    assert retry_after_seconds({"Retry-After": "Tue, 04 Mar 2025 11:00:00 GMT"}, now) == 0.0
    assert retry_after_seconds({"Retry-After": "soon"}, now) is None
    assert retry_after_seconds({}, now) is None


async def test_a_stream_that_stalls_times_out_within_the_idle_timeout(api: Endpoint) -> None:
    api.server.enqueue(streamed(text_chunk("Apple "), text_chunk("is"), Pause(30), text_chunk("!")))
    model = api.model(stream_idle_timeout=0.3)
    deltas: list[str] = []
    started = time.monotonic()
    with pytest.raises(ModelTimeout, match=r"sent nothing for 0\.3s"):
        await read_into(deltas, model.stream(ModelRequest(MESSAGES)))
    assert time.monotonic() - started < 3
    assert deltas == ["Apple ", "is"]
    await api.server.wait_disconnected(api.server.chat_requests[-1])


@pytest.mark.parametrize("busy_between_events", [False, True])
async def test_cancelling_the_consumer_closes_the_servers_stream(
    api: Endpoint, busy_between_events: bool
) -> None:
    # Cancelled while waiting for a chunk, or while doing its own work between two
    # events (the stream then closed by aclosing, as the turn loop holds it).
    api.server.enqueue(streamed(text_chunk("Thinking"), Pause(30), text_chunk(" done")))
    model = api.model()
    first_text = asyncio.Event()

    async def consume() -> None:
        # The port types stream() as an iterator; the adapter's is an async generator.
        stream = cast("AsyncGenerator[ModelEvent, None]", model.stream(ModelRequest(MESSAGES)))
        async with aclosing(stream) as events:
            async for _ in events:
                first_text.set()
                if busy_between_events:
                    await asyncio.sleep(30)

    task = asyncio.create_task(consume())
    await asyncio.wait_for(first_text.wait(), 5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    request = await api.server.wait_disconnected(api.server.chat_requests[-1], within=2)
    assert request.finished is False


@pytest.mark.parametrize(
    ("status", "kind"),
    [(500, ModelUnavailable), (503, ModelUnavailable), (408, ModelTimeout)],
)
async def test_server_side_failures(api: Endpoint, status: int, kind: type[ModelError]) -> None:
    api.server.enqueue(
        JsonReply(error_body("The server had an error", type_="server_error"), status)
    )
    with pytest.raises(kind, match="The server had an error"):
        await collect(api.model())


@pytest.mark.parametrize("status", [400, 401, 404])
async def test_other_4xx_are_model_errors_with_the_providers_message(
    api: Endpoint, status: int
) -> None:
    message = "Unsupported parameter: 'parallel_tool_calls' is not supported with this model."
    api.server.enqueue(JsonReply(error_body(message, code="unsupported_parameter"), status))
    with pytest.raises(ModelError) as caught:
        await collect(api.model())
    assert type(caught.value) is ModelError
    assert str(caught.value) == message


async def test_an_error_event_inside_the_stream(api: Endpoint) -> None:
    api.server.enqueue(
        streamed(text_chunk("Par"), error_body("The server had an error", type_="server_error"))
    )
    with pytest.raises(ModelUnavailable, match="The server had an error"):
        await collect(api.model())


async def test_a_server_that_is_not_there_is_unavailable() -> None:
    config = ProviderConfig(
        provider="compatible",
        model="llama3.1",
        base_url=f"http://127.0.0.1:{free_port()}/v1",
        max_retries=0,
    )
    model = open_model(config)
    try:
        with pytest.raises(ModelUnavailable, match="could not be reached"):
            await collect(model)
    finally:
        await model.aclose()


async def test_a_compatible_server_without_a_key_gets_a_placeholder(api: Endpoint) -> None:
    api.server.enqueue(streamed(text_chunk("hi")))
    await collect(api.model("llama3.1", provider="compatible", api_key=None))
    assert api.server.chat_requests[-1].headers["authorization"] == "Bearer unused"


async def test_a_shared_http_client_is_used_and_left_open(api: Endpoint) -> None:
    api.server.enqueue(streamed(text_chunk("hi")))
    async with httpx.AsyncClient(headers={"x-shared": "yes"}) as shared:
        config = ProviderConfig(
            provider="openai",
            model="gpt-4o",
            api_key="k",
            base_url=f"{api.url}/v1",
            max_retries=0,
        )
        model = open_model(config, http_client=shared)
        await collect(model)
        await model.aclose()
        assert shared.is_closed is False
        assert api.server.chat_requests[-1].headers["x-shared"] == "yes"


async def test_the_scripted_server_answers_non_streamed_requests_and_lists_models(
    api: Endpoint,
) -> None:
    # The same server serves tests that call the client directly (benchmarks, probes).
    import openai

    api.server.enqueue(JsonReply(completion("Hi", prompt_tokens=3, completion_tokens=1)))
    async with openai.AsyncOpenAI(api_key="k", base_url=f"{api.url}/v1", max_retries=0) as client:
        answer = await client.chat.completions.create(
            model="gpt-4o-mini", messages=cast("Any", MESSAGES)
        )
        models = await client.models.list()
    assert answer.choices[0].message.content == "Hi"
    assert answer.usage is not None
    assert answer.usage.total_tokens == 4
    assert [m.id for m in models.data] == ["gpt-4o-mini"]
    assert "stream" not in api.server.chat_requests[-1].body


@pytest.mark.parametrize(
    ("config", "setting"),
    [
        (ProviderConfig(provider="openai", model="gpt-4o"), "MARKETSCOPE_CHAT_LLM_API_KEY"),
        (ProviderConfig(provider="openai", model=" ", api_key="k"), "MARKETSCOPE_CHAT_LLM_MODEL"),
        (
            ProviderConfig(provider="azure", model="d", api_key="k", api_version=API_VERSION),
            "MARKETSCOPE_CHAT_AZURE_ENDPOINT",
        ),
        (
            ProviderConfig(provider="azure", model="d", api_key="k", azure_endpoint="http://x"),
            "MARKETSCOPE_CHAT_AZURE_API_VERSION",
        ),
        (
            ProviderConfig(
                provider="azure", model="d", azure_endpoint="http://x", api_version=API_VERSION
            ),
            "MARKETSCOPE_CHAT_LLM_API_KEY",
        ),
        (ProviderConfig(provider="compatible", model="llama3"), "MARKETSCOPE_CHAT_LLM_BASE_URL"),
    ],
)
def test_missing_settings_are_named(config: ProviderConfig, setting: str) -> None:
    with pytest.raises(ValueError, match=setting):
        open_model(config)


def test_the_offline_engine_is_not_opened_here() -> None:
    with pytest.raises(ValueError, match="offline"):
        open_model(ProviderConfig(provider="offline", model="offline"))
