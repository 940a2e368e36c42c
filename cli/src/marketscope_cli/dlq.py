"""Dead-letter queues: look inside, and move messages back to their source queue (the
platform's `marketscope_platform.queues`), a refused redrive as the command's error."""

from __future__ import annotations

from typing import Any

from marketscope_cli.errors import CliError
from marketscope_platform import queues
from marketscope_platform.queues import DeadLetter, ProgressCallback, describe, peek

__all__ = ["DeadLetter", "describe", "peek", "redrive"]


async def redrive(
    sqs: Any, dlq_url: str, target_url: str, *, on_moved: ProgressCallback | None = None
) -> int:
    try:
        return await queues.redrive(sqs, dlq_url, target_url, on_moved=on_moved)
    except queues.RedriveRefused as exc:
        raise CliError(str(exc)) from exc
