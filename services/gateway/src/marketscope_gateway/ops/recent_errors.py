"""The gateway process's recent warnings and errors (failed downstream calls, unhandled
exceptions answered 500, AWS unavailable), kept in a bounded ring buffer that a logging
handler on the root logger feeds while the app runs."""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime

from marketscope_servicekit import BackgroundJob
from marketscope_servicekit.request_context import current_request_id, current_trace_id

MESSAGE_CHARS = 500
CONTEXT_CHARS = 200
# What every record has; anything else came with ``extra=`` and says what was involved.
STANDARD_ATTRIBUTES = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


@dataclass(frozen=True)
class RecentError:
    at: datetime
    level: str
    logger: str
    message: str
    exception: str | None
    method: str | None
    path: str | None
    context: dict[str, str]
    trace_id: str | None = None
    request_id: str | None = None


class RecentErrors:
    """The newest ``capacity`` records, newest first; ``seen`` counts every one kept since
    the start, including those pushed out since."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.seen = 0
        self._records: deque[RecentError] = deque(maxlen=capacity)

    def add(self, error: RecentError) -> None:
        self._records.append(error)
        self.seen += 1

    def newest(self, limit: int) -> list[RecentError]:
        return list(reversed(self._records))[:limit]


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def _context(record: logging.LogRecord) -> dict[str, str]:
    return {
        name: str(value)[:CONTEXT_CHARS]
        for name, value in vars(record).items()
        if name not in STANDARD_ATTRIBUTES
        and name not in {"method", "path"}
        and isinstance(value, str | int | float | bool)
    }


class RecentErrorsHandler(logging.Handler):
    def __init__(self, errors: RecentErrors, level: int = logging.WARNING) -> None:
        super().__init__(level)
        self.errors = errors

    def emit(self, record: logging.LogRecord) -> None:
        try:
            exception = (
                record.exc_info[0].__name__ if record.exc_info and record.exc_info[0] else None
            )
            self.errors.add(
                RecentError(
                    at=datetime.fromtimestamp(record.created, UTC),
                    level=record.levelname,
                    logger=record.name,
                    message=record.getMessage()[:MESSAGE_CHARS],
                    exception=exception,
                    method=_text(getattr(record, "method", None)),
                    path=_text(getattr(record, "path", None)),
                    context=_context(record),
                    # Emitted in the logging call's context: the request's own ids.
                    trace_id=current_trace_id(),
                    request_id=current_request_id(),
                )
            )
        except Exception:  # a record that cannot be read must not break logging
            self.handleError(record)


def capture_recent_errors(errors: RecentErrors) -> BackgroundJob:
    """A background job: the handler is on the root logger from start-up to shutdown."""

    async def job(stop: asyncio.Event) -> None:
        handler = RecentErrorsHandler(errors)
        root = logging.getLogger()
        root.addHandler(handler)
        try:
            await stop.wait()
        finally:
            root.removeHandler(handler)

    return job
