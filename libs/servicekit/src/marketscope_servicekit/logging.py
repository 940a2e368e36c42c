"""Structured logs: one JSON object per line on stdout.

CloudWatch Logs (and ``docker compose logs``) take stdout line by line; one JSON object per
line keeps a traceback inside its record and lets log queries filter on fields.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

from marketscope_servicekit.request_context import (
    current_request_id,
    current_service,
    current_trace_id,
)

# Attributes every LogRecord has; anything else on a record came from ``extra=``, except
# uvicorn's ``color_message`` (the message again, with terminal colour codes).
_RECORD_ATTRIBUTES = frozenset(vars(logging.makeLogRecord({}))) | {
    "message",
    "asctime",
    "color_message",
}
_ACCESS_LOGGER = "uvicorn.access"
_UVICORN_LOGGERS = ("uvicorn", "uvicorn.error", _ACCESS_LOGGER)
_ACCESS_FIELDS = ("client", "method", "path", "http_version", "status")


class JsonFormatter(logging.Formatter):
    """Formats a record as JSON: time, level, service, logger, message, extra fields."""

    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "service": current_service() or self.service,
            "logger": record.name,
            "message": record.getMessage(),
            "trace_id": getattr(record, "trace_id", None) or current_trace_id(),
            "request_id": getattr(record, "request_id", None) or current_request_id(),
        }
        entry.update(_access_fields(record))
        entry.update(
            (key, value) for key, value in vars(record).items() if key not in _RECORD_ATTRIBUTES
        )
        if record.exc_info:
            entry["exc_info"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack_info"] = self.formatStack(record.stack_info)
        return json.dumps(entry, default=str)


def _access_fields(record: logging.LogRecord) -> dict[str, Any]:
    # uvicorn passes the request line as format arguments; fields make it queryable.
    args = record.args
    if record.name != _ACCESS_LOGGER or not isinstance(args, tuple):
        return {}
    if len(args) != len(_ACCESS_FIELDS):
        return {}
    return dict(zip(_ACCESS_FIELDS, args, strict=True))


class StdoutHandler(logging.Handler):
    """Writes to whatever ``sys.stdout`` is at emit time (test runners swap it)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            sys.stdout.write(self.format(record) + "\n")
            sys.stdout.flush()
        except Exception:
            self.handleError(record)


def access_log_turned_off() -> bool:
    """Whether uvicorn was told not to log each request (``access_log=False``,
    ``--no-access-log``): it then leaves its access logger without handlers and not
    propagating. uvicorn logs a request line whenever that logger has a handler, its
    parents' included, so routing it through root would turn the access log back on:
    a line per request on stdout and to CloudWatch Logs, which ``serve`` turns off."""
    access = logging.getLogger(_ACCESS_LOGGER)
    return not access.handlers and not access.propagate


def configure_logging(service: str, level: str = "INFO") -> None:
    """Send the root logger and uvicorn's loggers to stdout as JSON lines.

    Idempotent: calling it again replaces the handler it installed before and leaves
    handlers it did not install (a test runner's capture, say) alone.
    """
    handler = StdoutHandler()
    handler.setFormatter(JsonFormatter(service))
    root = logging.getLogger()
    for existing in [h for h in root.handlers if isinstance(h, StdoutHandler)]:
        root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(level.upper())
    # uvicorn gives its loggers their own plain-text handlers and levels (a server
    # started earlier in the process may have left them at its own): route them through
    # root, at root's level. Its access log stays off where uvicorn turned it off.
    access_off = access_log_turned_off()
    for name in _UVICORN_LOGGERS:
        if name == _ACCESS_LOGGER and access_off:
            continue
        uvicorn_logger = logging.getLogger(name)
        uvicorn_logger.handlers.clear()
        uvicorn_logger.propagate = True
        uvicorn_logger.setLevel(logging.NOTSET)
    # httpx logs every request it makes at INFO: only with DEBUG on.
    quiet = logging.getLevelName(level.upper()) != logging.DEBUG
    logging.getLogger("httpx").setLevel(logging.WARNING if quiet else logging.NOTSET)
