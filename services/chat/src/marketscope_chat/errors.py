"""The chat service's errors.

`ChatError` is the base of every error of the service. Each subclass also derives from
one of servicekit's shared kinds, which fixes its status and problem type.
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from marketscope_servicekit import (
    Conflict,
    DependencyUnavailable,
    InvalidRequest,
    NotFound,
    ServiceError,
    TooManyRequests,
)
from marketscope_servicekit.errors import problem_type


class ChatError(ServiceError):
    """Base of every error of the chat service."""


class ConversationNotFound(NotFound, ChatError):
    """Unknown, expired, deleted, or another user's: the same answer for all four."""

    def __init__(self, conversation_id: str) -> None:
        super().__init__(
            f"No conversation {conversation_id}.", extensions={"conversation_id": conversation_id}
        )


class ConversationConflict(Conflict, ChatError):
    def __init__(self, detail: str, *, conversation_id: str) -> None:
        super().__init__(detail, extensions={"conversation_id": conversation_id})


class BudgetExceeded(TooManyRequests, ChatError):
    """The user's daily token or cost budget is spent; it resets at 00:00 UTC."""

    type: ClassVar[str] = problem_type("budget-exceeded")
    title: ClassVar[str | None] = "Daily budget exceeded"

    def __init__(self, detail: str, *, resets_at: datetime, retry_after: float) -> None:
        super().__init__(detail, retry_after, extensions={"resets_at": resets_at.isoformat()})
        self.resets_at = resets_at


class StorageUnavailable(DependencyUnavailable, ChatError):
    """The chat table does not answer now."""


class ModelNotConfigured(DependencyUnavailable, ChatError):
    """The configured provider cannot be used (no key in the secret or the settings)."""


class UnknownModel(NotFound, ChatError):
    """The OpenAI-compatible door serves one model, ``marketscope``."""

    def __init__(self, model: str) -> None:
        super().__init__(
            f"The model {model!r} does not exist; use 'marketscope'.", extensions={"model": model}
        )


class AnalysisNotFound(NotFound, ChatError):
    """Unknown, expired, or another user's: the same answer for all three."""

    def __init__(self, analysis_id: str) -> None:
        super().__init__(f"No analysis {analysis_id}.", extensions={"analysis_id": analysis_id})


class AnalysisConflict(Conflict, ChatError):
    """The analysis changed meanwhile (another worker, a cancel), or it is finished."""

    def __init__(self, analysis_id: str, detail: str | None = None) -> None:
        super().__init__(
            detail or f"Analysis {analysis_id} changed meanwhile.",
            extensions={"analysis_id": analysis_id},
        )


class InvalidAnalysis(InvalidRequest, ChatError):
    """An analysis request that cannot be run as asked (unknown symbols, bad weights)."""
