"""What happened to each message a consumer received."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Outcome(StrEnum):
    # Handled messages and duplicates are deleted with their consumer's next batch of
    # acknowledgements (at most ``acknowledge_within`` seconds later).
    HANDLED = "handled"  # handler ran and succeeded: message deleted
    DUPLICATE = "duplicate"  # already handled before: message deleted, handler not run
    RETRY = "retry"  # transient failure: left on the queue, redelivered after a backoff
    REJECTED = "rejected"  # terminal failure or malformed: left to reach the DLQ


@dataclass(frozen=True, slots=True)
class MessageReport:
    message_id: str
    outcome: Outcome
    receive_count: int
    event_type: str | None = None
    event_id: str | None = None
    reason: str | None = None
    lag_ms: float | None = None  # from the event's time to the end of its handling

    @property
    def deletes_message(self) -> bool:
        return self.outcome in {Outcome.HANDLED, Outcome.DUPLICATE}
