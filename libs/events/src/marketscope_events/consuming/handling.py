"""The message a handler is running for, as the handler sees it: ``current_handling()``.

A handler whose side effect is a DynamoDB write can commit it with the idempotency
record's completion in one TransactWriteItems (``completion_write``, then
``mark_completed``): the effect and "handled" then happen together or not at all, so a
worker killed between them cannot make the redelivery do the effect a second time.

    handling = current_handling()
    await dynamodb.transact_write_items(
        TransactItems=[{"Put": my_side_effect}, handling.completion_write()]
    )
    handling.mark_completed()

A cancelled transaction whose completion item failed means the claim was lost (it lapsed
and another worker holds it): raise, and the message comes back; the other worker's run
is the one that counts.
"""

from __future__ import annotations

from contextvars import ContextVar, Token
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from marketscope_events.consuming.idempotency.base import IdempotencyStore

if TYPE_CHECKING:
    from types_aiobotocore_dynamodb.type_defs import TransactWriteItemTypeDef

_current: ContextVar[Handling] = ContextVar("marketscope_handling")


@runtime_checkable
class CompletesInTransaction(Protocol):
    """An idempotency store whose completion can be an item of TransactWriteItems
    (`DynamoDBIdempotencyStore`)."""

    def completion_write(
        self, consumer: str, event_id: str, *, owner: str, keep_for: timedelta
    ) -> TransactWriteItemTypeDef: ...


@dataclass
class Handling:
    """One claimed message: the consumer, the claim key and the owner token of the claim."""

    consumer: str
    claim: str
    owner: str
    keep_for: timedelta
    store: IdempotencyStore
    completed: bool = field(default=False)

    def completion_write(self) -> TransactWriteItemTypeDef:
        """The claim's completion, to commit inside the handler's own transaction."""
        if not isinstance(self.store, CompletesInTransaction):
            raise TypeError(
                f"{type(self.store).__name__} keeps its records outside DynamoDB: "
                "its completion cannot join a transaction"
            )
        return self.store.completion_write(
            self.consumer, self.claim, owner=self.owner, keep_for=self.keep_for
        )

    def mark_completed(self) -> None:
        """The handler committed the completion: the dispatcher does not write it again."""
        self.completed = True


def current_handling() -> Handling:
    """The message the running handler was called for; LookupError outside a handler."""
    try:
        return _current.get()
    except LookupError:
        raise LookupError("current_handling() is only known inside a consumer's handler") from None


def set_handling(handling: Handling) -> Token[Handling]:
    return _current.set(handling)


def reset_handling(token: Token[Handling]) -> None:
    _current.reset(token)
