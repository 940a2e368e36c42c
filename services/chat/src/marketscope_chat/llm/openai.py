"""The chat-completions adapter: OpenAI, Azure OpenAI and OpenAI-compatible servers
(Ollama, vLLM, llama.cpp, LM Studio) through one injected ``openai.AsyncOpenAI`` client.

One call is one streamed request. Each chunk is awaited under an idle timeout (a stream
that stops moving is a timeout even when the server keeps the connection open), and the
HTTP stream is closed in every case, the caller's cancellation included, so an abandoned
answer stops costing tokens at the provider. The client's own retries (``max_retries``)
run before a failure reaches this module; what is left is translated into the port's
errors here.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, cast

import openai

from marketscope_chat.llm.accumulator import ToolCallAccumulator
from marketscope_chat.llm.base import (
    Capabilities,
    ChatModel,
    Message,
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
    Usage,
)
from marketscope_chat.llm.tokens import count_tokens, messages_tokens

if TYPE_CHECKING:
    from openai.types.chat import (
        ChatCompletionChunk,
        ChatCompletionMessageParam,
        ChatCompletionToolUnionParam,
    )

DEFAULT_IDLE_TIMEOUT = 60.0


class OpenAIChatModel(ChatModel):
    """One model (Azure: one deployment) behind a chat-completions endpoint.

    ``idle_timeout`` bounds every wait for the next chunk, the first one included: a
    reasoning model that thinks for longer before its first token needs a longer one.
    """

    def __init__(
        self,
        client: openai.AsyncOpenAI,
        *,
        provider: ProviderName,
        model: str,
        capabilities: Capabilities,
        idle_timeout: float = DEFAULT_IDLE_TIMEOUT,
        close_client: bool = True,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.provider = provider
        self.model = model
        self.capabilities = capabilities
        self._client = client
        self._idle_timeout = idle_timeout
        # A client built around a caller's http client leaves that client to its owner.
        self._close_client = close_client
        self._clock = clock

    async def stream(self, request: ModelRequest) -> AsyncIterator[ModelEvent]:
        tools = self._tools_to_send(request)
        chunks = await self._open(request, tools)
        accumulator = ToolCallAccumulator()
        text: list[str] = []
        usage: Usage | None = None
        finish_reason: str | None = None
        model = ""
        try:
            while (chunk := await self._next(chunks)) is not None:
                model = model or chunk.model or ""
                if chunk.usage is not None:
                    usage = Usage(
                        prompt_tokens=chunk.usage.prompt_tokens or 0,
                        completion_tokens=chunk.usage.completion_tokens or 0,
                    )
                # Azure's content-filter results and the usage-only last chunk have no
                # choices; only one choice is ever asked for.
                for choice in chunk.choices:
                    if choice.index not in (0, None):
                        continue
                    finish_reason = choice.finish_reason or finish_reason
                    # Azure's asynchronous filter sends choices with no delta at all.
                    delta = choice.delta
                    if delta is None:
                        continue
                    if delta.tool_calls:
                        accumulator.add(delta.tool_calls)
                    if delta.content:
                        text.append(delta.content)
                        yield TextDelta(delta.content)
        finally:
            await chunks.close()
        answer = "".join(text)
        tool_calls = accumulator.tool_calls
        yield ModelReply(
            text=answer,
            tool_calls=tool_calls,
            usage=usage or estimate_usage(request.messages, tools, answer, tool_calls),
            finish_reason=finish_reason,
            model=model or self.model,
        )

    async def aclose(self) -> None:
        if self._close_client:
            await self._client.close()

    def _tools_to_send(self, request: ModelRequest) -> tuple[ToolSpec, ...]:
        # Without tool_choice, "answer without tools" can only be asked by offering none.
        if request.tool_choice == "none" and not self.capabilities.tool_choice:
            return ()
        return tuple(request.tools)

    async def _open(
        self, request: ModelRequest, tools: tuple[ToolSpec, ...]
    ) -> openai.AsyncStream[ChatCompletionChunk]:
        caps = self.capabilities
        # OpenAI's reasoning models refuse max_tokens; compatible servers know only it.
        legacy_limit = self.provider == "compatible"
        limit = openai.omit if request.max_tokens is None else request.max_tokens
        try:
            return await self._client.chat.completions.create(
                model=self.model,
                messages=cast("list[ChatCompletionMessageParam]", list(request.messages)),
                stream=True,
                tools=(
                    cast("list[ChatCompletionToolUnionParam]", [t.as_openai() for t in tools])
                    if tools
                    else openai.omit
                ),
                tool_choice=request.tool_choice if tools and caps.tool_choice else openai.omit,
                parallel_tool_calls=True if tools and caps.parallel_tool_calls else openai.omit,
                stream_options={"include_usage": True} if caps.include_usage else openai.omit,
                max_tokens=limit if legacy_limit else openai.omit,
                max_completion_tokens=openai.omit if legacy_limit else limit,
                extra_body=dict(request.extra) or None,
            )
        except openai.OpenAIError as exc:
            raise self._translate(exc) from exc

    async def _next(
        self, chunks: openai.AsyncStream[ChatCompletionChunk]
    ) -> ChatCompletionChunk | None:
        try:
            async with asyncio.timeout(self._idle_timeout):
                return await anext(chunks)
        except StopAsyncIteration:
            return None
        except TimeoutError as exc:
            raise ModelTimeout(
                f"{self.provider} {self.model}: the stream sent nothing for {self._idle_timeout:g}s"
            ) from exc
        except openai.OpenAIError as exc:
            raise self._translate(exc) from exc

    def _translate(self, exc: openai.OpenAIError) -> ModelError:
        where = f"{self.provider} {self.model}"
        if isinstance(exc, openai.APITimeoutError):
            return ModelTimeout(f"{where}: no answer in time")
        if isinstance(exc, openai.APIConnectionError):
            return ModelUnavailable(f"{where}: could not be reached ({exc.__cause__ or exc})")
        if isinstance(exc, openai.APIStatusError):
            message = provider_message(exc)
            retry_after = retry_after_seconds(exc.response.headers, self._clock())
            status = exc.status_code
            if status == 429:
                return ModelRateLimited(message, retry_after=retry_after)
            if status == 408:
                return ModelTimeout(message, retry_after=retry_after)
            if status >= 500:
                return ModelUnavailable(message, retry_after=retry_after)
            return ModelError(message, retry_after=retry_after)
        if isinstance(exc, openai.APIError):
            # An error event inside a stream that had started with 200.
            if exc.type == "server_error":
                return ModelUnavailable(exc.message)
            return ModelError(exc.message)
        return ModelError(f"{where}: {exc}")


def provider_message(exc: openai.APIStatusError) -> str:
    """The provider's own words: ``error.message`` of the body when it has one."""
    body = exc.body
    if isinstance(body, Mapping):
        message = body.get("message")
        if isinstance(message, str) and message:
            return message
    if isinstance(body, str) and body:
        return body
    return exc.message


def retry_after_seconds(headers: Mapping[str, str], now: datetime) -> float | None:
    """When the provider said to come back, in seconds from ``now``: Azure's
    ``retry-after-ms`` first, then ``Retry-After`` as seconds or as an HTTP date."""
    lowered = {name.lower(): value for name, value in headers.items()}
    milliseconds = _number(lowered.get("retry-after-ms"))
    if milliseconds is not None:
        return max(milliseconds / 1000, 0.0)
    value = lowered.get("retry-after")
    if value is None:
        return None
    seconds = _number(value)
    if seconds is not None:
        return max(seconds, 0.0)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None  # neither seconds nor a date: as if the provider had said nothing
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max((when - now).total_seconds(), 0.0)


def _number(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        return None


def estimate_usage(
    messages: Sequence[Message],
    tools: tuple[ToolSpec, ...],
    text: str,
    tool_calls: tuple[ToolCall, ...],
) -> Usage:
    """Usage counted with the offline tokenizer, for servers that report none."""
    prompt = messages_tokens(messages)
    if tools:
        prompt += count_tokens(json.dumps([tool.as_openai() for tool in tools]))
    completion = count_tokens(text) + sum(
        count_tokens(call.name) + count_tokens(call.arguments) for call in tool_calls
    )
    return Usage(prompt_tokens=prompt, completion_tokens=completion, estimated=True)
