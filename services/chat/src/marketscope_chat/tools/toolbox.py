"""Running the tool calls of one model round.

All calls of a round run at once, each under its own time limit. Whatever goes wrong with
one call (a tool the model made up, arguments that are not JSON or not valid, the
service's refusal, a timeout, a bug) becomes that call's error, which the model reads as
the tool's result: it is never replaced by a made-up value, and it never fails the other
calls of the round. Cancelling the round cancels every call still running.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from pydantic import BaseModel, ValidationError

from marketscope_chat.llm.base import Message, ToolCall, ToolSpec
from marketscope_chat.tools.base import Tool, ToolContext, ToolFailed, ToolOutput
from marketscope_chat.tools.clients import ServiceCaller, ServiceUnavailable
from marketscope_chat.tools.documents import SearchDocumentsTool
from marketscope_chat.tools.market import market_tools
from marketscope_chat.tools.portfolio import PortfolioRiskTool
from marketscope_chat.tools.trimming import compact
from marketscope_servicekit import MetricsRecorder

logger = logging.getLogger(__name__)

EXECUTION_TIME = "ToolExecutionTime"


@dataclass(frozen=True, slots=True)
class ToolResult:
    """One call's outcome: ``output`` when it answered, else ``error`` saying why not.
    ``arguments`` are the validated ones (normalised: symbols upper-cased, defaults
    filled), the parsed JSON when validation failed, None when it was not JSON."""

    call: ToolCall
    arguments: dict[str, Any] | None
    output: ToolOutput | None
    error: str | None
    duration_ms: float
    # The error is the service's being down or slow (asking again later may answer),
    # not its refusal of the request.
    transient: bool = False

    @property
    def ok(self) -> bool:
        return self.error is None

    def message_for_model(self) -> Message:
        """The OpenAI ``tool`` message answering the call."""
        if self.output is not None:
            content = self.output.for_model
        else:
            content = compact({"error": self.error or "no result"})
        return {"role": "tool", "tool_call_id": self.call.id, "content": content}


class _CallFailed(Exception):
    """A call that cannot run, with the arguments as far as they were understood."""

    def __init__(self, message: str, arguments: dict[str, Any] | None) -> None:
        super().__init__(message)
        self.arguments = arguments


def validation_summary(error: ValidationError) -> str:
    """Pydantic's errors as one line naming each field: ``symbol: Field required``."""
    parts = [
        f"{'.'.join(str(part) for part in item['loc']) or '(arguments)'}: {item['msg']}"
        for item in error.errors(include_url=False)
    ]
    return "invalid arguments: " + "; ".join(parts)


def parse_arguments(call: ToolCall, model: type[BaseModel]) -> BaseModel:
    """The call's JSON arguments, parsed and validated. An empty text is ``{}``: models
    send that for a tool without parameters."""
    try:
        raw = json.loads(call.arguments) if call.arguments.strip() else {}
    except json.JSONDecodeError as exc:
        raise _CallFailed(f"arguments are not JSON: {exc.msg} at {exc.pos}", None) from exc
    if not isinstance(raw, dict):
        raise _CallFailed("arguments must be a JSON object", None)
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        raise _CallFailed(validation_summary(exc), raw) from exc


class Toolbox:
    def __init__(
        self,
        tools: Sequence[Tool[Any]],
        *,
        timeout: float = 15.0,
        metrics: MetricsRecorder | None = None,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self._tools = {tool.name: tool for tool in tools}
        if len(self._tools) != len(tools):
            raise ValueError(f"tool names repeat: {[tool.name for tool in tools]}")
        self.timeout = timeout
        self._metrics = metrics
        self._clock = clock

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self._tools)

    def specs(self) -> list[ToolSpec]:
        return [tool.spec() for tool in self._tools.values()]

    async def run_all(self, calls: Sequence[ToolCall], context: ToolContext) -> list[ToolResult]:
        """The results in the order of ``calls``. Citing calls get [n] ranges of their
        own, from ``context.citation_start`` on, in call order."""
        contexts = []
        start = context.citation_start
        for call in calls:
            contexts.append(replace(context, citation_start=start))
            start += self._citation_slots(call)
        async with asyncio.TaskGroup() as group:
            tasks = [
                group.create_task(self.run(call, own))
                for call, own in zip(calls, contexts, strict=True)
            ]
        return [task.result() for task in tasks]

    def _citation_slots(self, call: ToolCall) -> int:
        tool = self._tools.get(call.name)
        if tool is None:
            return 0
        try:
            return tool.citation_slots(parse_arguments(call, tool.arguments))
        except _CallFailed:
            return 0  # the call fails before it cites anything

    async def run(self, call: ToolCall, context: ToolContext) -> ToolResult:
        """One call; raises nothing but cancellation."""
        started = self._clock()
        arguments: dict[str, Any] | None = None
        output: ToolOutput | None = None
        error: str | None = None
        transient = False
        tool = self._tools.get(call.name)
        limit = asyncio.timeout(self.timeout)
        try:
            if tool is None:
                raise _CallFailed(
                    f"unknown tool {call.name!r}; the tools are: {', '.join(self._tools)}", None
                )
            args = parse_arguments(call, tool.arguments)
            arguments = args.model_dump(mode="json")
            async with limit:
                output = await tool.run(args, context)
        except _CallFailed as exc:
            arguments, error = exc.arguments, str(exc)
        except ToolFailed as exc:
            error = str(exc) or f"{call.name} failed"
            transient = isinstance(exc, ServiceUnavailable)
            logger.info("tool %s failed: %s", call.name, error)
        except Exception as exc:
            if isinstance(exc, TimeoutError) and limit.expired():
                error = f"timed out after {self.timeout:g} s"
                transient = True
                logger.warning("tool %s timed out after %g s", call.name, self.timeout)
            else:
                error = f"internal error in tool {call.name}"
                logger.exception("tool %s raised", call.name, extra={"tool_call_id": call.id})
        duration_ms = (self._clock() - started) * 1000
        if tool is not None and self._metrics is not None:
            # Only the tools that exist: a name the model made up is no metric dimension.
            self._metrics.record(
                EXECUTION_TIME, duration_ms, unit="Milliseconds", dimensions={"Tool": tool.name}
            )
        return ToolResult(call, arguments, output, error, duration_ms, transient)


def build_toolbox(
    market_data: ServiceCaller,
    rag: ServiceCaller,
    *,
    timeout: float = 15.0,
    metrics: MetricsRecorder | None = None,
    clock: Callable[[], float] = time.perf_counter,
) -> Toolbox:
    """Every tool the analyst has, over the two services they ask."""
    tools: list[Tool[Any]] = [
        *market_tools(market_data),
        PortfolioRiskTool(market_data),
        SearchDocumentsTool(rag),
    ]
    return Toolbox(tools, timeout=timeout, metrics=metrics, clock=clock)
