"""Tool calls put back together from streamed deltas, as the servers really send them.

OpenAI streams each call as deltas sharing an ``index``: the first carries the ``id`` and
the function ``name``, the following ones pieces of ``arguments``. The servers that speak
the same format differ in ways a plain merge (openai-python's ``accumulate_delta``
concatenates every string field, ids and names included) gets wrong:

- vLLM repeats the id (and some proxies the name) in every delta of a call; others send
  no id at all. The id and the name are therefore taken once, the first non-empty value
  winning, and a missing id becomes ``call_<n>``. Only ``arguments`` is concatenated.
- Ollama sends each call whole in one delta and numbers every one of them index 0, so
  parallel calls arrive as one index reused. A delta at an index whose arguments are
  already complete JSON starts a new call when it brings a different id, a different
  name, or a name with more arguments. A bare repeat (the same id, or the same name with
  no arguments) adds nothing and starts nothing.
- Some servers leave ``index`` out; such a delta belongs to the call last written to.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from marketscope_chat.llm.base import ToolCall


class FunctionDelta(Protocol):
    @property
    def name(self) -> str | None: ...

    @property
    def arguments(self) -> str | None: ...


class ToolCallDelta(Protocol):
    """What openai's ``ChoiceDeltaToolCall`` carries (and any object shaped like it)."""

    @property
    def index(self) -> int | None: ...

    @property
    def id(self) -> str | None: ...

    @property
    def function(self) -> FunctionDelta | None: ...


@dataclass(slots=True)
class _Slot:
    id: str | None = None  # as the server sent it
    name: str = ""
    arguments: str = ""

    def arguments_complete(self) -> bool:
        if not self.arguments.strip():
            return False
        try:
            json.loads(self.arguments)
        except ValueError:
            return False
        return True


class ToolCallAccumulator:
    """Feed it every delta of one streamed answer, then read `tool_calls`."""

    def __init__(self) -> None:
        self._slots: list[_Slot] = []  # in the order the calls started
        self._by_index: dict[int, _Slot] = {}  # the call each index writes to now
        self._last: _Slot | None = None

    def add(self, deltas: Iterable[ToolCallDelta]) -> None:
        for delta in deltas:
            self._add(delta)

    def _add(self, delta: ToolCallDelta) -> None:
        index = getattr(delta, "index", None)
        call_id = getattr(delta, "id", None) or None
        function = getattr(delta, "function", None)
        name = (getattr(function, "name", None) or "") if function is not None else ""
        arguments = (getattr(function, "arguments", None) or "") if function is not None else ""

        slot = self._by_index.get(index) if index is not None else self._last
        if slot is None or self._starts_new_call(slot, call_id, name, arguments):
            slot = _Slot()
            self._slots.append(slot)
            if index is not None:
                self._by_index[index] = slot
        self._last = slot

        if slot.id is None:
            slot.id = call_id
        if not slot.name:
            slot.name = name
        slot.arguments += arguments

    @staticmethod
    def _starts_new_call(slot: _Slot, call_id: str | None, name: str, arguments: str) -> bool:
        if call_id is not None and call_id == slot.id:
            return False  # vLLM's repeated id: the same call
        different_id = call_id is not None and slot.id is not None
        different_name = bool(name) and bool(slot.name) and (name != slot.name or bool(arguments))
        # Only a finished call can be followed at its index: before that, a new id or
        # name is a server's quirk inside one call, not a second call.
        return (different_id or different_name) and slot.arguments_complete()

    @property
    def tool_calls(self) -> tuple[ToolCall, ...]:
        """The calls so far, ids filled in; arguments ``{}`` when none were streamed."""
        calls = []
        for n, slot in enumerate(slot for slot in self._slots if slot.name or slot.arguments):
            calls.append(
                ToolCall(
                    id=slot.id or f"call_{n}",
                    name=slot.name,
                    arguments=slot.arguments if slot.arguments.strip() else "{}",
                )
            )
        return tuple(calls)
