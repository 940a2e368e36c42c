"""A scripted chat-completions server that speaks OpenAI's wire format exactly.

Serve ``ScriptedOpenAI().app`` on loopback (``marketscope_servicekit.testing.served``
or ``served_in_thread``) and point a real ``openai`` client at it: ``base_url=f"{url}/v1"``
for OpenAI and compatible servers, ``azure_endpoint=url`` for Azure (the path
``/openai/deployments/{deployment}/chat/completions?api-version=...``).

Each request to chat completions takes the next script from the queue, in order: a
`StreamScript` (the SSE chunks to send, with `Pause` between them where the test needs
time to pass) or a `JsonReply` (a non-streamed answer or an error with its status and
headers). Every request is recorded (`RecordedRequest`: JSON body, headers, query) and
a stream the client walks away from is marked ``disconnected``. The builders below make
chunks as the providers send them (OpenAI, Azure's content-filter chunks, usage-only
final chunk) so a test writes only what is particular to its case.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send

MODEL = "gpt-4o-mini"
CHUNK_ID = "chatcmpl-scripted"


@dataclass(frozen=True, slots=True)
class Pause:
    """Send nothing for ``seconds`` (ends early when the client disconnects)."""

    seconds: float


@dataclass(frozen=True, slots=True)
class StreamScript:
    """A streamed 200: each chunk as ``data: {json}``, then ``data: [DONE]`` when ``done``."""

    events: Sequence[dict[str, Any] | Pause]
    done: bool = True
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class JsonReply:
    """A JSON answer: a ``completion(...)`` body, or an ``error_body(...)`` with a status."""

    body: Any
    status: int = 200
    headers: Mapping[str, str] = field(default_factory=dict)


Script = StreamScript | JsonReply


@dataclass(slots=True)
class RecordedRequest:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # names lower-cased
    body: Any  # the parsed JSON body, None for a GET
    deployment: str | None = None  # Azure's path segment
    finished: bool = False  # the whole script was sent
    disconnected: bool = False  # the client went away before the script ended


class ScriptedOpenAI:
    """The app, its queue of scripts and what it received."""

    def __init__(self, models: Sequence[str] = (MODEL,)) -> None:
        self.models = tuple(models)
        self.requests: list[RecordedRequest] = []
        self._scripts: deque[Script] = deque()
        self.app = self._build_app()

    def enqueue(self, *scripts: Script) -> None:
        """Answer the next chat requests with ``scripts``, one request each, in order."""
        self._scripts.extend(scripts)

    @property
    def pending(self) -> int:
        """Scripts not yet used."""
        return len(self._scripts)

    @property
    def chat_requests(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path.endswith("/chat/completions")]

    async def wait_disconnected(
        self, request: RecordedRequest, within: float = 5.0
    ) -> RecordedRequest:
        """``request`` once the server has seen its client go away (AssertionError if
        that takes longer than ``within`` seconds)."""
        try:
            async with asyncio.timeout(within):
                # Polled, not an asyncio.Event: under served_in_thread the flag is set
                # from the server's own event loop, in another thread.
                while not request.disconnected:  # noqa: ASYNC110
                    await asyncio.sleep(0.01)
        except TimeoutError:
            raise AssertionError(f"the client of {request.path} never disconnected") from None
        return request

    def _build_app(self) -> FastAPI:
        app = FastAPI(title="scripted chat completions")

        @app.post("/v1/chat/completions")
        async def openai_chat(request: Request) -> Response:
            return await self._chat(request, deployment=None)

        @app.post("/openai/deployments/{deployment}/chat/completions")
        async def azure_chat(request: Request, deployment: str) -> Response:
            return await self._chat(request, deployment=deployment)

        @app.get("/v1/models")
        async def models(request: Request) -> Response:
            self.requests.append(_record(request, None))
            data = [
                {"id": name, "object": "model", "created": 0, "owned_by": "scripted"}
                for name in self.models
            ]
            return JSONResponse({"object": "list", "data": data})

        return app

    async def _chat(self, request: Request, *, deployment: str | None) -> Response:
        try:
            body = await request.json()
        except ValueError:
            return JSONResponse(error_body("We could not parse the JSON body."), status_code=400)
        record = _record(request, body, deployment)
        self.requests.append(record)
        if deployment is not None and "api-version" not in request.query_params:
            return JSONResponse(
                {"error": {"code": "404", "message": "Resource not found"}}, status_code=404
            )
        if not self._scripts:
            return JSONResponse(
                error_body("no script left for this request", type_="server_error"),
                status_code=500,
            )
        script = self._scripts.popleft()
        if isinstance(script, JsonReply):
            record.finished = True
            return JSONResponse(script.body, status_code=script.status, headers=script.headers)
        if not body.get("stream"):
            return JSONResponse(
                error_body("the script streams but the request did not ask for a stream"),
                status_code=500,
            )
        return _ScriptedStream(script, record)


class _ScriptedStream(Response):
    """Server-sent events as OpenAI frames them, watching for the client to go away
    (uvicorn reports ``http.disconnect`` as soon as the connection drops)."""

    def __init__(self, script: StreamScript, record: RecordedRequest) -> None:
        # Not Response.__init__: it would declare an empty body (content-length: 0).
        self.status_code = 200
        self.background = None
        self.raw_headers = [
            (b"content-type", b"text/event-stream; charset=utf-8"),
            (b"cache-control", b"no-cache"),
            *((name.lower().encode(), value.encode()) for name, value in script.headers.items()),
        ]
        self._script = script
        self._record = record

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        gone = asyncio.Event()

        async def watch() -> None:
            while (await receive())["type"] != "http.disconnect":
                continue
            gone.set()

        watcher = asyncio.create_task(watch())
        try:
            await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})
            for event in self._script.events:
                if isinstance(event, Pause):
                    with contextlib.suppress(TimeoutError):  # the pause ran its course
                        async with asyncio.timeout(event.seconds):
                            await gone.wait()
                elif not gone.is_set():
                    await send(
                        {"type": "http.response.body", "body": sse(event), "more_body": True}
                    )
                if gone.is_set():
                    break
            else:
                tail = DONE if self._script.done else b""
                await send({"type": "http.response.body", "body": tail, "more_body": False})
                self._record.finished = True
        finally:
            watcher.cancel()
            self._record.disconnected = gone.is_set() and not self._record.finished


def _record(request: Request, body: Any, deployment: str | None = None) -> RecordedRequest:
    return RecordedRequest(
        method=request.method,
        path=request.url.path,
        query=dict(request.query_params),
        headers={name.lower(): value for name, value in request.headers.items()},
        body=body,
        deployment=deployment,
    )


DONE = b"data: [DONE]\n\n"


def sse(data: Mapping[str, Any]) -> bytes:
    """One event exactly as OpenAI frames it."""
    return b"data: " + json.dumps(data, separators=(",", ":")).encode() + b"\n\n"


# Chunk builders -----------------------------------------------------------------------


def chunk(
    delta: Mapping[str, Any] | None = None,
    *,
    finish_reason: str | None = None,
    model: str = MODEL,
    chunk_id: str = CHUNK_ID,
    **extra: Any,
) -> dict[str, Any]:
    """A ``chat.completion.chunk`` with one choice (``delta`` None: a choice without a
    delta, as Azure's asynchronous filter sends); ``extra`` adds top-level fields."""
    choice: dict[str, Any] = {"index": 0, "logprobs": None, "finish_reason": finish_reason}
    if delta is not None:
        choice["delta"] = dict(delta)
    return {
        "id": chunk_id,
        "object": "chat.completion.chunk",
        "created": 1_700_000_000,
        "model": model,
        "system_fingerprint": "fp_scripted",
        "choices": [choice],
        **extra,
    }


def role_chunk(**fields: Any) -> dict[str, Any]:
    """OpenAI's first chunk: the role and empty content."""
    return chunk({"role": "assistant", "content": "", "refusal": None}, **fields)


def text_chunk(text: str, **fields: Any) -> dict[str, Any]:
    return chunk({"content": text}, **fields)


def tool_call_delta(
    index: int | None,
    *,
    call_id: str | None = None,
    name: str | None = None,
    arguments: str | None = None,
) -> dict[str, Any]:
    """One entry of ``delta.tool_calls``; a None field is left out, as servers do
    (``index`` None: the key is missing, as some servers send it)."""
    delta: dict[str, Any] = {} if index is None else {"index": index}
    if call_id is not None:
        delta["id"] = call_id
        delta["type"] = "function"
    function = {
        key: value for key, value in (("name", name), ("arguments", arguments)) if value is not None
    }
    if function:
        delta["function"] = function
    return delta


def tool_calls_chunk(*deltas: Mapping[str, Any], **fields: Any) -> dict[str, Any]:
    """A chunk carrying several ``tool_call_delta`` entries at once."""
    return chunk({"tool_calls": [dict(d) for d in deltas]}, **fields)


def tool_call_chunk(
    index: int | None,
    *,
    call_id: str | None = None,
    name: str | None = None,
    arguments: str | None = None,
    **fields: Any,
) -> dict[str, Any]:
    """A chunk with one `tool_call_delta`; ``fields`` as in `chunk`."""
    delta = tool_call_delta(index, call_id=call_id, name=name, arguments=arguments)
    return tool_calls_chunk(delta, **fields)


def finish_chunk(reason: str = "stop", **fields: Any) -> dict[str, Any]:
    return chunk({}, finish_reason=reason, **fields)


def usage_chunk(prompt_tokens: int, completion_tokens: int, **fields: Any) -> dict[str, Any]:
    """The last chunk ``stream_options.include_usage`` asks for: no choices, the usage."""
    body = chunk(usage=usage(prompt_tokens, completion_tokens), **fields)
    body["choices"] = []
    return body


def usage(prompt_tokens: int, completion_tokens: int) -> dict[str, int]:
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    }


_SAFE = {"filtered": False, "severity": "safe"}
FILTER_RESULTS = {"hate": _SAFE, "self_harm": _SAFE, "sexual": _SAFE, "violence": _SAFE}


def azure_prompt_filter_chunk() -> dict[str, Any]:
    """Azure's first chunk: the prompt's filter results, no choices, no model."""
    return {
        "id": "",
        "object": "",
        "created": 0,
        "model": "",
        "choices": [],
        "prompt_filter_results": [{"prompt_index": 0, "content_filter_results": FILTER_RESULTS}],
    }


def azure_content_filter_chunk(start: int = 0, end: int = 0) -> dict[str, Any]:
    """Azure's asynchronous filter verdict: a choice with filter results and no delta."""
    body = chunk(None)
    body["choices"][0]["content_filter_results"] = FILTER_RESULTS
    offsets = {"check_offset": start, "start_offset": start, "end_offset": end}
    body["choices"][0]["content_filter_offsets"] = offsets
    return body


def completion(
    text: str | None = None,
    *,
    tool_calls: Sequence[Mapping[str, str]] = (),
    finish_reason: str = "stop",
    prompt_tokens: int = 10,
    completion_tokens: int = 5,
    model: str = MODEL,
) -> dict[str, Any]:
    """A non-streamed ``chat.completion``; each tool call ``{"id", "name", "arguments"}``."""
    message: dict[str, Any] = {"role": "assistant", "content": text, "refusal": None}
    if tool_calls:
        message["tool_calls"] = [
            {
                "id": call["id"],
                "type": "function",
                "function": {"name": call["name"], "arguments": call["arguments"]},
            }
            for call in tool_calls
        ]
    return {
        "id": "chatcmpl-scripted",
        "object": "chat.completion",
        "created": 1_700_000_000,
        "model": model,
        "choices": [
            {"index": 0, "message": message, "logprobs": None, "finish_reason": finish_reason}
        ],
        "usage": usage(prompt_tokens, completion_tokens),
    }


def error_body(
    message: str, *, type_: str = "invalid_request_error", code: str | None = None
) -> dict[str, Any]:
    """OpenAI's error envelope."""
    return {"error": {"message": message, "type": type_, "param": None, "code": code}}


def streamed(*events: dict[str, Any] | Pause, done: bool = True) -> StreamScript:
    return StreamScript(events=events, done=done)
