"""The idempotency record port: at most one successful handling per (consumer, event id)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from datetime import timedelta


class IdempotencyStore(ABC):
    """``begin`` claims an event for handling and returns the claim's owner token;
    ``extend`` keeps a claim its handler still holds from lapsing (the heartbeat of a long
    handler); ``complete`` records success (``complete_many`` several at once, the way a
    consumer acknowledges what it handled in batches); ``release`` gives up the claim so a retry can
    run the handler again.

    With ``owner``, ``extend`` and ``release`` touch the claim only while that owner still
    holds it: a worker whose claim lapsed and was taken by another never extends or frees
    the other's claim.
    """

    @abstractmethod
    async def begin(self, consumer: str, event_id: str, *, claim_for: timedelta) -> str:
        """Raise EventAlreadyHandledError if done, EventInProgressError if claimed."""

    @abstractmethod
    async def extend(
        self, consumer: str, event_id: str, *, claim_for: timedelta, owner: str | None = None
    ) -> None:
        """Push an in-progress claim's lapse to ``claim_for`` from now; a claim that is no
        longer in progress (completed, released, another owner's) is left as it is."""

    @abstractmethod
    async def complete(self, consumer: str, event_id: str, *, keep_for: timedelta) -> None: ...

    async def complete_many(
        self, consumer: str, event_ids: Sequence[str], *, keep_for: timedelta
    ) -> None:
        """Record several successes; a store that can write them in one request does."""
        for event_id in event_ids:
            await self.complete(consumer, event_id, keep_for=keep_for)

    @abstractmethod
    async def release(self, consumer: str, event_id: str, *, owner: str | None = None) -> None:
        """Drop the record; with ``owner``, only an in-progress claim of that owner."""


def record_key(consumer: str, event_id: str) -> str:
    return f"Idempotency#{consumer}#{event_id}"
