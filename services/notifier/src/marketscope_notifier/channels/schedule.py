"""When a failed delivery is tried again: the Standard Webhooks (Svix) schedule, and how
a delay longer than SQS can hold a message is carried.

Attempt 1 is immediate; after attempt ``n`` fails, `next_delay(n)` is the wait before
attempt ``n + 1``. After the last delay's attempt fails, the delivery is given up.
"""

from __future__ import annotations

import math
import random
from typing import Final

RETRY_DELAYS_SECONDS: Final = (5.0, 5 * 60.0, 30 * 60.0, 2 * 3600.0, 5 * 3600.0, 10 * 3600.0)
MAX_ATTEMPTS: Final = len(RETRY_DELAYS_SECONDS) + 1
# Spread retries so that endpoints that failed together are not retried together.
JITTER: Final = 0.2
# A receiver may ask for a later retry, but not for one beyond a day.
MAX_RETRY_AFTER_SECONDS: Final = 24 * 3600.0
# The longest DelaySeconds SQS accepts.
MAX_SQS_DELAY_SECONDS: Final = 900

_RNG = random.Random()


def next_delay(
    attempt: int, retry_after: float | None = None, rng: random.Random = _RNG
) -> float | None:
    """Seconds to wait after ``attempt`` (1-based) failed, or None to give up.

    The scheduled delay gets ±20 % jitter; a receiver's ``retry_after`` is honoured when
    it asks for longer (capped at 24 h), but does not earn attempts beyond the schedule.
    """
    if attempt < 1:
        raise ValueError(f"attempts are counted from 1, not {attempt}")
    if attempt > len(RETRY_DELAYS_SECONDS):
        return None
    base = RETRY_DELAYS_SECONDS[attempt - 1]
    delay = base * (1 + rng.uniform(-JITTER, JITTER))
    if retry_after is not None and math.isfinite(retry_after):
        delay = max(delay, min(retry_after, MAX_RETRY_AFTER_SECONDS))
    return delay


def split_delay(seconds: float) -> tuple[int, float]:
    """The DelaySeconds for one SQS send toward a wait of ``seconds``, and what remains
    after it: a message that arrives with time remaining is sent again with the rest.

    Rounded up, so that a message never arrives before it is due.
    """
    if seconds <= 0:
        return 0, 0.0
    if seconds <= MAX_SQS_DELAY_SECONDS:
        return math.ceil(seconds), 0.0
    return MAX_SQS_DELAY_SECONDS, seconds - MAX_SQS_DELAY_SECONDS


def sqs_delay(remaining_seconds: float) -> int:
    """The DelaySeconds to send a message with that is due in ``remaining_seconds``."""
    return split_delay(remaining_seconds)[0]


def must_wait(remaining_seconds: float) -> bool:
    """Whether a message that arrived due in ``remaining_seconds`` is to be put back
    (with `sqs_delay`) rather than delivered now."""
    return split_delay(remaining_seconds)[0] > 0
