"""`ChatService` on the emulator's chat table: conversations as streams, owner checks,
expiry, paging, history sent to the model, and turns stored with what they cost."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from marketscope_chat.conversations.state import stream_id
from marketscope_chat.errors import BudgetExceeded, ConversationConflict, ConversationNotFound
from marketscope_chat.llm.base import ChatModel, ModelReply
from marketscope_chat.service import ChatService, ChatSettings
from marketscope_chat.settings import DEFAULT_PRICES
from marketscope_chat.spending import Budget, Spending
from marketscope_chat.store import ConversationRepository, UsageLedger, open_event_store
from marketscope_chat.tools.toolbox import Toolbox
from marketscope_chat.turns import TurnSettings
from marketscope_platform.aws import AwsClients
from marketscope_platform.topology import SERVICES
from marketscope_servicekit import Identity, MetricsRecorder

from .fakes import PriceTool, ScriptedModel, calls

TABLE = SERVICES["chat"].table
NO_BUDGET = Budget(None, None)


class Models:
    def __init__(self, model: ChatModel) -> None:
        self.model = model

    async def get(self) -> ChatModel:
        return self.model

    async def aclose(self) -> None:
        return None


def user() -> Identity:
    return Identity(f"user-{uuid.uuid4().hex[:8]}")


@pytest.fixture
async def make_service(aws: AwsClients, provisioned: str) -> Any:
    dynamodb = await aws.client("dynamodb")

    def make(
        script: list[Any],
        *,
        clock: Any = None,
        budget: Budget = NO_BUDGET,
        context_tokens: int | None = None,
    ) -> tuple[ChatService, ScriptedModel]:
        model = ScriptedModel(script)
        if context_tokens is not None:
            from dataclasses import replace

            model.capabilities = replace(model.capabilities, context_tokens=context_tokens)
        service = ChatService(
            ConversationRepository(open_event_store(dynamodb, TABLE), dynamodb, TABLE),
            Spending(UsageLedger(dynamodb, TABLE), DEFAULT_PRICES, budget),
            Models(model),  # type: ignore[arg-type]
            Toolbox([PriceTool({"AAPL": 187.2049})]),
            MetricsRecorder("chat"),
            ChatSettings(timedelta(days=30), answer_tokens=256, turn=TurnSettings()),
            **({"clock": clock} if clock else {}),
        )
        return service, model

    return make


async def answer(
    service: ChatService, caller: Identity, conversation_id: str, text: str
) -> list[Any]:
    turn = await service.ask(caller, conversation_id, text)
    events = [e async for e in turn.events()]
    await service.aclose()  # the answer is stored by a task of its own
    return events


async def test_a_turn_is_stored_with_its_tool_calls_usage_and_grounding(make_service: Any) -> None:
    service, _ = make_service(
        [ModelReply("", calls(("quote", {"symbol": "AAPL"}))), ModelReply("AAPL is 187.20.")]
    )
    caller = user()
    conversation = await service.start(caller.user_id, None)
    await answer(service, caller, conversation.id, "Price of AAPL?")
    state = await service.get(caller.user_id, conversation.id)
    question, reply = state.messages
    assert (question.role, question.content) == ("user", "Price of AAPL?")
    assert reply.reply_to == question.id
    assert reply.content == "AAPL is 187.20."
    assert [c.name for c in reply.tool_calls] == ["quote"]
    assert reply.tool_calls[0].result == '{"symbol": "AAPL", "price": 187.2049}'
    assert reply.answer is not None
    assert (reply.answer.prompt_tokens, reply.answer.completion_tokens) == (200, 40)
    assert [(g.text, g.status) for g in reply.answer.grounding] == [("187.20", "grounded")]
    assert state.display_title == "Price of AAPL?"


async def test_another_users_conversation_is_not_found(make_service: Any) -> None:
    service, _ = make_service([])
    owner, other = user(), user()
    conversation = await service.start(owner.user_id, "mine")
    with pytest.raises(ConversationNotFound):
        await service.get(other.user_id, conversation.id)
    with pytest.raises(ConversationNotFound):
        await service.ask(other, conversation.id, "hi")
    with pytest.raises(ConversationNotFound):
        await service.delete(other.user_id, conversation.id)
    assert (await service.get(owner.user_id, conversation.id)).title == "mine"


async def test_deleted_conversations_are_gone_from_reads_and_lists(make_service: Any) -> None:
    service, _ = make_service([])
    caller = user()
    conversation = await service.start(caller.user_id, "bye")
    await service.delete(caller.user_id, conversation.id)
    with pytest.raises(ConversationNotFound):
        await service.get(caller.user_id, conversation.id)
    assert (await service.list(caller.user_id, limit=10, cursor=None)).items == []


async def test_expired_conversations_are_invisible(make_service: Any) -> None:
    long_ago = datetime.now(UTC) - timedelta(days=31)
    old_service, _ = make_service([], clock=lambda: long_ago)
    service, _ = make_service([])
    caller = user()
    expired = await old_service.start(caller.user_id, "old")
    live = await service.start(caller.user_id, "new")
    with pytest.raises(ConversationNotFound):
        await service.get(caller.user_id, expired.id)
    page = await service.list(caller.user_id, limit=10, cursor=None)
    assert [c.id for c in page.items] == [live.id]


async def test_lists_are_newest_first_and_paged(make_service: Any) -> None:
    service, _ = make_service([])
    caller = user()
    started = []
    for n in range(5):
        started.append((await service.start(caller.user_id, f"c{n}")).id)
        await asyncio.sleep(0.002)
    seen: list[str] = []
    cursor = None
    while True:
        page = await service.list(caller.user_id, limit=2, cursor=cursor)
        seen += [c.id for c in page.items]
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert seen == list(reversed(started))


async def test_a_second_question_waits_for_the_first_answer(make_service: Any) -> None:
    service, _ = make_service([ModelReply("one")])
    caller = user()
    conversation = await service.start(caller.user_id, None)
    await service.ask(caller, conversation.id, "first")
    with pytest.raises(ConversationConflict):
        await service.ask(caller, conversation.id, "second")


async def test_the_answer_is_stored_before_its_last_event(make_service: Any) -> None:
    """A client that asks again on seeing ``message.completed`` is never told the first
    question is still being answered."""
    service, _ = make_service([ModelReply("one"), ModelReply("two")])
    caller = user()
    conversation = await service.start(caller.user_id, None)
    turn = await service.ask(caller, conversation.id, "first")
    seen_at_the_end: list[str] = []
    async for event in turn.events():
        if event.type == "message.completed":
            state = await service.get(caller.user_id, conversation.id)
            seen_at_the_end = [m.role for m in state.messages]
    assert seen_at_the_end == ["user", "assistant"]
    second = await service.ask(caller, conversation.id, "second")  # no ConversationConflict
    assert [e.type async for e in second.events()][-1] == "message.completed"


async def test_history_keeps_whole_turns_newest_first_within_the_context(
    make_service: Any,
) -> None:
    filler = "word " * 1000  # about 1,000 tokens: one such turn fits, two do not
    script = [
        ModelReply("", calls(("quote", {"symbol": "AAPL"}))),
        ModelReply(f"first answer {filler}"),
        ModelReply(f"second answer {filler}"),
        ModelReply("third answer"),
    ]
    service, model = make_service(script, context_tokens=2_300)
    caller = user()
    conversation = await service.start(caller.user_id, None)
    for question in ("first question", "second question", "third question"):
        await answer(service, caller, conversation.id, question)
    sent = model.requests[-1].messages
    contents = [m.get("content") or "" for m in sent]
    assert not any("first question" in c for c in contents)  # the oldest turn went
    assert any("second answer" in c for c in contents)
    assert sent[-1] == {"role": "user", "content": "third question"}
    # No tool message without the assistant message that called it.
    for index, message in enumerate(sent):
        if message["role"] == "tool":
            assert any(
                call["id"] == message["tool_call_id"]
                for earlier in sent[:index]
                for call in earlier.get("tool_calls") or []
            )


async def test_a_spent_budget_refuses_the_turn_before_it_starts(make_service: Any) -> None:
    service, _ = make_service(
        [ModelReply("a " * 10)], budget=Budget(daily_tokens=200, daily_cost_usd=None)
    )
    caller = user()
    conversation = await service.start(caller.user_id, None)
    await answer(service, caller, conversation.id, "once")  # 120 tokens... then 240
    service2, _ = make_service(
        [ModelReply("b")], budget=Budget(daily_tokens=100, daily_cost_usd=None)
    )
    with pytest.raises(BudgetExceeded) as refused:
        await service2.ask(caller, conversation.id, "twice")
    assert refused.value.headers["Retry-After"]
    assert refused.value.resets_at > datetime.now(UTC)


async def test_an_abandoned_turn_is_stored_as_unfinished(
    make_service: Any, aws: AwsClients
) -> None:
    service, model = make_service([ModelReply("a long answer " * 50)])
    model.delay = 0.01
    caller = user()
    conversation = await service.start(caller.user_id, None)
    turn = await service.ask(caller, conversation.id, "slow")
    stream = turn.events()
    async for event in stream:
        if event.type == "message.delta":
            break
    await stream.aclose()  # the client went away
    await service.aclose()
    state = await service.get(caller.user_id, conversation.id)
    reply = state.messages[-1]
    assert reply.role == "assistant"
    assert reply.answer is not None
    assert reply.answer.finish_reason == "error"
    assert "not finished" in (reply.answer.error or "")
    events = await open_event_store(await aws.client("dynamodb"), TABLE).read(
        stream_id(conversation.id)
    )
    assert [e.type.split(".")[2] for e in events] == [
        "ConversationStarted",
        "UserMessagePosted",
        "AssistantMessageCompleted",
    ]
