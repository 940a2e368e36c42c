"""Tool calls rebuilt from the deltas each server really streams (openai's own types)."""

from __future__ import annotations

import json

from openai.types.chat.chat_completion_chunk import (
    ChoiceDeltaToolCall,
    ChoiceDeltaToolCallFunction,
)

from marketscope_chat.llm.accumulator import ToolCallAccumulator
from marketscope_chat.llm.base import ToolCall


def delta(
    index: int | None,
    call_id: str | None = None,
    name: str | None = None,
    arguments: str | None = None,
) -> ChoiceDeltaToolCall:
    function = (
        None
        if name is None and arguments is None
        else ChoiceDeltaToolCallFunction.construct(name=name, arguments=arguments)
    )
    return ChoiceDeltaToolCall.construct(index=index, id=call_id, function=function)


def accumulate(*deltas: ChoiceDeltaToolCall) -> tuple[ToolCall, ...]:
    accumulator = ToolCallAccumulator()
    for one in deltas:  # one delta per chunk, as servers send them
        accumulator.add([one])
    return accumulator.tool_calls


def test_arguments_split_mid_token_are_concatenated_and_id_and_name_taken_once() -> None:
    calls = accumulate(
        delta(0, "call_abc", "get_quote", ""),
        delta(0, arguments='{"sym'),
        delta(0, arguments='bol": "AA'),
        delta(0, arguments='PL"}'),
    )
    assert calls == (ToolCall("call_abc", "get_quote", '{"symbol": "AAPL"}'),)


def test_ids_and_names_repeated_in_every_delta_are_not_concatenated() -> None:
    calls = accumulate(
        delta(0, "chatcmpl-tool-1", "get_quote", '{"symbol": '),
        delta(0, "chatcmpl-tool-1", "get_quote", '"MSFT"}'),
    )
    assert calls == (ToolCall("chatcmpl-tool-1", "get_quote", '{"symbol": "MSFT"}'),)


def test_missing_ids_are_generated_in_call_order() -> None:
    calls = accumulate(
        delta(0, name="get_quote", arguments='{"symbol": "A"}'),
        delta(1, name="search_documents", arguments='{"query": "margins"}'),
    )
    assert [call.id for call in calls] == ["call_0", "call_1"]
    assert [call.name for call in calls] == ["get_quote", "search_documents"]


def test_parallel_calls_interleaved_by_index_keep_their_own_arguments() -> None:
    accumulator = ToolCallAccumulator()
    accumulator.add([delta(0, "call_a", "get_quote", '{"symbol"'), delta(1, "call_b", "get_news")])
    accumulator.add([delta(1, arguments='{"symbol": "B"}'), delta(0, arguments=': "A"}')])
    assert accumulator.tool_calls == (
        ToolCall("call_a", "get_quote", '{"symbol": "A"}'),
        ToolCall("call_b", "get_news", '{"symbol": "B"}'),
    )


def test_index_zero_reused_with_new_ids_is_two_calls() -> None:
    # Ollama: each call whole in one delta, every one at index 0.
    calls = accumulate(
        delta(0, "call_x1", "get_quote", '{"symbol": "AAPL"}'),
        delta(0, "call_x2", "get_quote", '{"symbol": "MSFT"}'),
    )
    assert calls == (
        ToolCall("call_x1", "get_quote", '{"symbol": "AAPL"}'),
        ToolCall("call_x2", "get_quote", '{"symbol": "MSFT"}'),
    )


def test_index_zero_reused_without_ids_splits_on_a_new_name_or_new_arguments() -> None:
    calls = accumulate(
        delta(0, name="get_quote", arguments='{"symbol": "AAPL"}'),
        delta(0, name="get_news", arguments='{"symbol": "AAPL"}'),
        delta(0, name="get_news", arguments='{"symbol": "MSFT"}'),
    )
    assert [(call.id, call.name, json.loads(call.arguments)["symbol"]) for call in calls] == [
        ("call_0", "get_quote", "AAPL"),
        ("call_1", "get_news", "AAPL"),
        ("call_2", "get_news", "MSFT"),
    ]


def test_a_new_id_before_the_arguments_are_complete_stays_in_the_same_call() -> None:
    # A proxy that stamps a fresh id on every delta must not split one call in pieces.
    calls = accumulate(
        delta(0, "id-1", "get_quote", '{"symbol": '),
        delta(0, "id-2", None, '"AAPL"}'),
    )
    assert calls == (ToolCall("id-1", "get_quote", '{"symbol": "AAPL"}'),)


def test_a_bare_repeat_after_complete_arguments_starts_nothing() -> None:
    calls = accumulate(
        delta(0, "call_1", "get_quote", '{"symbol": "AAPL"}'),
        delta(0, "call_1", "get_quote", ""),
        delta(0, None, "get_quote", ""),
    )
    assert calls == (ToolCall("call_1", "get_quote", '{"symbol": "AAPL"}'),)


def test_a_delta_without_index_continues_the_last_call_or_starts_one() -> None:
    calls = accumulate(
        delta(None, "c1", "get_quote", '{"symbol":'),
        delta(None, arguments=' "AAPL"}'),
        delta(None, "c2", "get_quote", '{"symbol": "MSFT"}'),
    )
    assert calls == (
        ToolCall("c1", "get_quote", '{"symbol": "AAPL"}'),
        ToolCall("c2", "get_quote", '{"symbol": "MSFT"}'),
    )


def test_a_call_without_arguments_gets_an_empty_object_and_empty_deltas_make_no_call() -> None:
    calls = accumulate(
        delta(0, "call_1", "list_watchlists"),
        delta(1),  # nothing in it: no call
    )
    assert calls == (ToolCall("call_1", "list_watchlists", "{}"),)


def test_no_deltas_no_calls() -> None:
    assert ToolCallAccumulator().tool_calls == ()
