"""The chat service's domain logic (no HTTP, no boto): conversations with the analyst,
their turns, and what they cost.

A turn is prepared before anything is streamed, so what can be refused is refused as an
HTTP error (an unknown conversation 404, a spent budget 429, a turn already running 409):
the question is stored (UserMessagePosted) and the returned `PreparedTurn` streams the
answer. When the stream ends, however it ends (answered, failed, or the client left),
the turn's tool calls and its answer are appended to the conversation in one write, from
a task of its own so a cancelled request still records what it cost and did.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from marketscope_chat.conversations.history import history_within
from marketscope_chat.conversations.state import ConversationState
from marketscope_chat.errors import ConversationConflict, ConversationNotFound
from marketscope_chat.llm.base import ChatModel, Message
from marketscope_chat.llm.tokens import count_tokens, messages_tokens
from marketscope_chat.prompts import SYSTEM_PROMPT
from marketscope_chat.recording import answer_events
from marketscope_chat.spending import Spending, UsageSummary
from marketscope_chat.store import ConversationPage, ConversationRepository
from marketscope_chat.stream_events import ErrorEvent, MessageCompleted, TurnEvent
from marketscope_chat.tools.toolbox import Toolbox
from marketscope_chat.turns import Turn, TurnSettings
from marketscope_events import CATALOG
from marketscope_events.catalog.events import (
    ConversationDeleted,
    ConversationStarted,
    UserMessagePosted,
)
from marketscope_servicekit import Identity, MetricsRecorder

if TYPE_CHECKING:
    from marketscope_chat.llm.selection import ModelSource

logger = logging.getLogger(__name__)
Clock = Callable[[], datetime]
# A question stored this long ago without an answer belongs to a turn that died.
TURN_LEASE = timedelta(minutes=5)


def _new_id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex}"


@dataclass(frozen=True, slots=True)
class ChatSettings:
    conversation_ttl: timedelta
    answer_tokens: int
    turn: TurnSettings


class PreparedTurn:
    """A turn ready to stream; `events` yields the answer's events as they happen.

    A stored conversation's answer is written before the turn's last event (``message.
    completed`` or ``error``) leaves: a client that sends its next message on seeing it
    finds the turn answered, never "still being answered". A client that goes away
    before the end leaves the answer to be stored in the background.
    """

    def __init__(
        self,
        turn: Turn,
        store: Callable[[Turn], Awaitable[None]] | None = None,
        in_background: Callable[[Turn], object] | None = None,
        *,
        question_id: str | None = None,
    ) -> None:
        self.turn = turn
        self.message_id = turn.message_id
        self.question_id = question_id
        self._store = store
        self._in_background = in_background

    async def events(self) -> AsyncIterator[TurnEvent]:
        stored = False
        try:
            held: list[TurnEvent] = []
            async for event in self.turn.events():
                if isinstance(event, MessageCompleted | ErrorEvent):
                    held.append(event)  # the outcome is whole once the turn is exhausted
                    continue
                yield event
            if self._store is not None:
                await self._store(self.turn)
            stored = True
            for event in held:
                yield event
        finally:
            if not stored and self._in_background is not None:
                self._in_background(self.turn)


class ChatService:
    def __init__(
        self,
        conversations: ConversationRepository,
        spending: Spending,
        models: ModelSource,
        toolbox: Toolbox,
        metrics: MetricsRecorder,
        settings: ChatSettings,
        *,
        clock: Clock = lambda: datetime.now(UTC),
    ) -> None:
        self._conversations = conversations
        self._spending = spending
        self._models = models
        self._toolbox = toolbox
        self._metrics = metrics
        self._settings = settings
        self._clock = clock
        self._recording: set[asyncio.Task[None]] = set()

    # Conversations

    async def start(self, owner: str, title: str | None) -> ConversationState:
        now = self._clock()
        conversation_id = _new_id("conv")
        event = CATALOG.new_event(
            ConversationStarted(
                conversation_id=conversation_id, owner=owner, title=title, started_at=now
            ),
            subject=conversation_id,
        )
        return await self._conversations.append(
            None, conversation_id, [event], expected_version=0, expires_at=self._expiry(now)
        )

    def _expiry(self, started_at: datetime) -> datetime:
        return started_at + self._settings.conversation_ttl

    def expires_at(self, state: ConversationState) -> datetime:
        return self._expiry(state.created_at)

    async def _owned(self, owner: str, conversation_id: str) -> tuple[ConversationState, int]:
        loaded = await self._conversations.load(conversation_id)
        if loaded is None or loaded[0].owner != owner or loaded[0].deleted:
            raise ConversationNotFound(conversation_id)
        return loaded

    async def get(self, owner: str, conversation_id: str) -> ConversationState:
        return (await self._owned(owner, conversation_id))[0]

    async def list(self, owner: str, *, limit: int, cursor: str | None) -> ConversationPage:
        return await self._conversations.list_owned(owner, limit=limit, cursor=cursor)

    async def delete(self, owner: str, conversation_id: str) -> None:
        state, version = await self._owned(owner, conversation_id)
        event = CATALOG.new_event(
            ConversationDeleted(conversation_id=conversation_id, deleted_at=self._clock()),
            subject=conversation_id,
        )
        await self._conversations.append(
            state,
            conversation_id,
            [event],
            expected_version=version,
            expires_at=self._expiry(state.created_at),
        )

    async def usage(self, owner: str) -> UsageSummary:
        return await self._spending.summary(owner)

    # Turns

    async def ask(self, identity: Identity, conversation_id: str, content: str) -> PreparedTurn:
        state, version = await self._owned(identity.user_id, conversation_id)
        pending = state.unanswered
        if pending is not None and self._clock() - pending.created_at < TURN_LEASE:
            raise ConversationConflict(
                "The previous message of this conversation is still being answered.",
                conversation_id=conversation_id,
            )
        await self._spending.check(identity.user_id)
        model = await self._models.get()
        history = history_within(state, self._history_budget(model, content))
        question_id = _new_id("msg")
        posted = CATALOG.new_event(
            UserMessagePosted(
                conversation_id=conversation_id,
                message_id=question_id,
                content=content,
                posted_at=self._clock(),
            ),
            subject=conversation_id,
        )
        expires_at = self._expiry(state.created_at)
        state = await self._conversations.append(
            state, conversation_id, [posted], expected_version=version, expires_at=expires_at
        )
        turn = self._turn(
            model,
            identity,
            conversation_id,
            [*history, {"role": "user", "content": content}],
            content,
        )

        async def store(done: Turn) -> None:
            await self._record(done, state, question_id, version + 1, expires_at)

        def store_in_background(done: Turn) -> None:
            task = asyncio.create_task(store(done))
            self._recording.add(task)
            task.add_done_callback(self._recording.discard)

        return PreparedTurn(turn, store, store_in_background, question_id=question_id)

    async def complete(self, identity: Identity, messages: Sequence[Message]) -> PreparedTurn:
        """A turn over messages the client keeps (the OpenAI-compatible door): the same
        loop, tools and budget, nothing stored but its cost."""
        await self._spending.check(identity.user_id)
        model = await self._models.get()
        question = next(
            (str(m.get("content") or "") for m in reversed(messages) if m.get("role") == "user"),
            "",
        )
        return PreparedTurn(self._turn(model, identity, None, messages, question))

    def _turn(
        self,
        model: ChatModel,
        identity: Identity,
        conversation_id: str | None,
        messages: Sequence[Message],
        question: str,
    ) -> Turn:
        return Turn(
            model,
            self._toolbox,
            self._spending,
            self._metrics,
            self._settings.turn,
            identity=identity,
            conversation_id=conversation_id,
            message_id=_new_id("msg"),
            messages=[{"role": "system", "content": SYSTEM_PROMPT}, *messages],
            question=question,
        )

    def _history_budget(self, model: ChatModel, question: str) -> int:
        fixed = messages_tokens([{"role": "system", "content": SYSTEM_PROMPT}])
        tools = sum(count_tokens(str(spec.as_openai())) for spec in self._toolbox.specs())
        return (
            model.capabilities.context_tokens
            - self._settings.answer_tokens
            - fixed
            - tools
            - count_tokens(question)
        )

    async def _record(
        self,
        turn: Turn,
        state: ConversationState,
        question_id: str,
        version: int,
        expires_at: datetime,
    ) -> None:
        events = answer_events(turn, question_id, completed_at=self._clock())
        try:
            await self._conversations.append(
                state,
                turn.conversation_id or "",
                events,
                expected_version=version,
                expires_at=expires_at,
            )
        except ConversationConflict:
            # Deleted (or, after its lease, taken over) while the answer was written.
            logger.info("answer %s not stored: its conversation moved on", turn.message_id)
        except Exception:
            logger.exception("could not store answer %s", turn.message_id)

    async def aclose(self) -> None:
        """Let answers being stored finish (shutdown)."""
        if self._recording:
            await asyncio.wait(set(self._recording), timeout=10)
