"""Queue look-ups shared by `status` and `dlq`: the platform's, with a missing queue as
the command's error."""

from __future__ import annotations

from typing import Any

from marketscope_cli.errors import CliError
from marketscope_platform import queues
from marketscope_platform.queues import QueueDepth, queue_depths

__all__ = ["QueueDepth", "queue_depths", "queue_url"]


async def queue_url(sqs: Any, name: str) -> str:
    try:
        return await queues.queue_url(sqs, name)
    except queues.QueueNotFound as exc:
        raise CliError(str(exc)) from exc
