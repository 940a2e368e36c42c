"""The tool loop (`turns.Turn`) with a scripted model and local tools; spending is the
real ledger on the emulator's chat table."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest

from marketscope_chat.llm.base import ModelRateLimited, ModelReply, Usage
from marketscope_chat.settings import DEFAULT_PRICES
from marketscope_chat.spending import Budget, Spending
from marketscope_chat.store import UsageLedger
from marketscope_chat.tools.toolbox import Toolbox
from marketscope_chat.turns import Turn, TurnSettings
from marketscope_platform.aws import AwsClients
from marketscope_platform.topology import SERVICES
from marketscope_servicekit import Identity, MetricsRecorder

from .fakes import PriceTool, ScriptedModel, calls, texts

TABLE = SERVICES["chat"].table
NO_BUDGET = Budget(None, None)


@pytest.fixture
async def ledger(aws: AwsClients, provisioned: str) -> UsageLedger:
    return UsageLedger(await aws.client("dynamodb"), TABLE)


def make_turn(
    model: ScriptedModel,
    ledger: UsageLedger,
    *,
    tool: PriceTool | None = None,
    budget: Budget = NO_BUDGET,
    owner: str | None = None,
    **settings: Any,
) -> tuple[Turn, MetricsRecorder]:
    metrics = MetricsRecorder("chat")
    turn = Turn(
        model,
        Toolbox([tool or PriceTool({"AAPL": 187.2049})], timeout=2.0),
        Spending(ledger, DEFAULT_PRICES, budget),
        metrics,
        TurnSettings(**settings),
        identity=Identity(owner or f"user-{uuid.uuid4().hex[:8]}"),
        conversation_id="conv_1",
        message_id="msg_1",
        messages=[{"role": "user", "content": "What is AAPL at?"}],
        question="What is AAPL at?",
    )
    return turn, metrics


async def collect(turn: Turn) -> list[Any]:
    return [event async for event in turn.events()]


def kinds(events: list[Any]) -> list[str]:
    return [e.type for e in events if e.type != "message.delta"]


async def test_a_tool_round_then_an_answer_grounded_in_the_result(ledger: UsageLedger) -> None:
    model = ScriptedModel(
        [
            # "stop" with tool calls, as some models answer: still a tool round.
            ModelReply("", calls(("quote", {"symbol": "AAPL"})), finish_reason="stop"),
            ModelReply("AAPL last traded at 187.20 USD.", finish_reason="stop"),
        ]
    )
    turn, metrics = make_turn(model, ledger)
    events = await collect(turn)
    assert kinds(events) == [
        "message.started",
        "tool_call.started",
        "tool_call.completed",
        "grounding",
        "usage",
        "message.completed",
    ]
    assert texts(events) == "AAPL last traded at 187.20 USD."
    completed = events[2]
    assert completed.ok
    assert completed.arguments == {"symbol": "AAPL"}
    second = model.requests[1].messages
    assert second[-2]["tool_calls"][0]["function"]["name"] == "quote"
    assert second[-1] == {
        "role": "tool",
        "tool_call_id": "call_0",
        "content": '{"symbol": "AAPL", "price": 187.2049}',
    }
    grounding = next(e for e in events if e.type == "grounding")
    assert (grounding.grounded, grounding.ungrounded) == (1, 0)
    assert grounding.numbers[0].call_id == "call_0"
    usage = next(e for e in events if e.type == "usage")
    assert (usage.prompt_tokens, usage.completion_tokens, usage.model_calls) == (200, 40, 2)
    assert usage.cost_usd == pytest.approx((200 * 0.15 + 40 * 0.60) / 1e6)
    assert turn.outcome.finish_reason == "stop"
    assert turn.outcome.rounds == 2
    assert metrics.percentiles(
        "ModelTokens", unit="Count", dimensions={"Model": "gpt-4o-mini", "Kind": "prompt"}
    )


async def test_a_failed_tool_reaches_the_model_as_its_result(ledger: UsageLedger) -> None:
    model = ScriptedModel(
        [
            ModelReply("", calls(("quote", {"symbol": "ZZZZ"}), ("quote", {"symbol": "AAPL"}))),
            ModelReply("I could not get ZZZZ: no such symbol. AAPL is at 187.2."),
        ]
    )
    turn, _ = make_turn(model, ledger)
    events = await collect(turn)
    done = [e for e in events if e.type == "tool_call.completed"]
    assert [(e.ok, e.error) for e in done] == [(False, "no such symbol: ZZZZ"), (True, None)]
    tool_messages = [m for m in model.requests[1].messages if m["role"] == "tool"]
    assert "no such symbol: ZZZZ" in tool_messages[0]["content"]
    assert '"price"' not in tool_messages[0]["content"]


async def test_the_round_limit_asks_for_an_answer_without_tools(ledger: UsageLedger) -> None:
    again = ModelReply("", calls(("quote", {"symbol": "AAPL"})))
    model = ScriptedModel([again, again, ModelReply("Here is what I have: 187.2.")])
    turn, _ = make_turn(model, ledger, max_rounds=2)
    events = await collect(turn)
    assert [r.tool_choice for r in model.requests] == ["auto", "auto", "none"]
    assert events[-1].type == "message.completed"
    assert events[-1].finish_reason == "max_rounds"


async def test_a_budget_spent_mid_turn_stops_it_with_an_error(ledger: UsageLedger) -> None:
    model = ScriptedModel(
        [
            ModelReply("", calls(("quote", {"symbol": "AAPL"})), usage=Usage(120, 10)),
            ModelReply("never asked"),
        ]
    )
    turn, _ = make_turn(model, ledger, budget=Budget(daily_tokens=100, daily_cost_usd=None))
    events = await collect(turn)
    assert len(model.requests) == 1
    assert kinds(events)[-2:] == ["error", "usage"]
    error = next(e for e in events if e.type == "error")
    assert error.code == "budget_exceeded"
    assert "130 of 100 tokens" in error.detail
    assert error.retry_after is not None
    assert error.retry_after > 0
    assert turn.outcome.finish_reason == "error"


async def test_ungrounded_numbers_are_flagged_and_corrected_once(ledger: UsageLedger) -> None:
    model = ScriptedModel(
        [
            ModelReply("", calls(("quote", {"symbol": "AAPL"}))),
            ModelReply("AAPL is at 187.20, up 4.5% this week."),
            ModelReply("AAPL is at 187.20."),
        ]
    )
    turn, _ = make_turn(model, ledger, correct_ungrounded=True)
    events = await collect(turn)
    correction = model.requests[2].messages[-1]["content"]
    assert "4.5%" in correction
    assert model.requests[2].tools == ()
    grounding = next(e for e in events if e.type == "grounding")
    assert grounding.corrected
    assert grounding.ungrounded == 0
    assert events[-1].text == "AAPL is at 187.20."


async def test_without_correction_ungrounded_numbers_are_reported(ledger: UsageLedger) -> None:
    model = ScriptedModel(
        [ModelReply("", calls(("quote", {"symbol": "AAPL"}))), ModelReply("AAPL: 190.55.")]
    )
    turn, _ = make_turn(model, ledger)
    events = await collect(turn)
    grounding = next(e for e in events if e.type == "grounding")
    assert [(n.text, n.status) for n in grounding.numbers] == [("190.55", "ungrounded")]
    assert len(model.requests) == 2


async def test_a_rate_limited_model_ends_the_turn_with_its_retry_after(
    ledger: UsageLedger,
) -> None:
    model = ScriptedModel([ModelRateLimited("slow down", retry_after=7.0)])
    turn, _ = make_turn(model, ledger)
    events = await collect(turn)
    assert kinds(events) == ["message.started", "error"]
    assert (events[-1].code, events[-1].retry_after) == ("model_rate_limited", 7.0)


async def test_cancelling_the_consumer_cancels_the_running_tools(ledger: UsageLedger) -> None:
    tool = PriceTool({"AAPL": 1.0}, delay=30)
    model = ScriptedModel(
        [ModelReply("", calls(("quote", {"symbol": "AAPL"}), ("quote", {"symbol": "AAPL"})))]
    )
    turn, _ = make_turn(model, ledger, tool=tool)
    started = asyncio.Event()

    async def consume() -> None:
        async for event in turn.events():
            if event.type == "tool_call.started":
                started.set()

    task = asyncio.create_task(consume())
    await asyncio.wait_for(started.wait(), 5)
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert tool.cancelled == 2


async def test_each_call_is_charged_to_the_callers_day(ledger: UsageLedger) -> None:
    owner = f"user-{uuid.uuid4().hex[:8]}"
    model = ScriptedModel(
        [ModelReply("", calls(("quote", {"symbol": "AAPL"}))), ModelReply("187.2")]
    )
    turn, _ = make_turn(model, ledger, owner=owner)
    await collect(turn)
    spending = Spending(ledger, DEFAULT_PRICES, Budget(None, None))
    summary = await spending.summary(owner)
    assert (summary.today.tokens, summary.today.calls) == (240, 2)
    assert [(m.model, m.prompt_tokens, m.completion_tokens) for m in summary.month.by_model] == [
        ("gpt-4o-mini", 200, 40)
    ]
