"""The chat service's errors.

`ChatError` is the base every error of the service will derive from. Each subclass also
derives from one of servicekit's shared kinds, which fixes its status and problem type
(``class AnalysisNotFound(NotFound, ChatError)``). The service raises none yet: it has no
routes and no handlers.
"""

from __future__ import annotations

from marketscope_servicekit import ServiceError


class ChatError(ServiceError):
    """Base of every error of the chat service."""
