"""Time-ordered ids: a four-character prefix (``ntf_``, ``chn_``, ``tst_``), the creation
time in microseconds as 14 hex digits, then a stable or random key. The table's numeric
sort key is derived from the id, so an owner's items sort by time and an id names its item
without a lookup."""

from __future__ import annotations

import secrets
from datetime import datetime

_PREFIX_LENGTH = 4
_TIME_DIGITS = 14


class UnknownId(ValueError):
    """An id this service did not make."""


def timed_id(prefix: str, created_at: datetime, unique: str | None = None) -> str:
    """``prefix`` + microseconds since the epoch + ``unique`` (a stable key of what the
    id is about, so making it again names the same thing; random when None)."""
    if len(prefix) != _PREFIX_LENGTH or not prefix.endswith("_"):
        raise ValueError(f"an id prefix is three letters and '_', not {prefix!r}")
    rest = (unique or secrets.token_hex(12))[:24]
    return f"{prefix}{int(created_at.timestamp() * 1_000_000):0{_TIME_DIGITS}x}{rest}"


def sort_key_of(identifier: str, prefix: str) -> int:
    """The numeric sort key of an id `timed_id` made with ``prefix``: its microseconds,
    then six digits of what follows (`UnknownId` for any other string)."""
    start, end = _PREFIX_LENGTH, _PREFIX_LENGTH + _TIME_DIGITS
    try:
        if not identifier.startswith(prefix) or len(identifier) < end + 5:
            raise ValueError(identifier)
        created = int(identifier[start:end], 16)
        salt = int(identifier[end : end + 5], 16) % 1_000_000
    except ValueError as exc:
        raise UnknownId(identifier) from exc
    return created * 1_000_000 + salt
