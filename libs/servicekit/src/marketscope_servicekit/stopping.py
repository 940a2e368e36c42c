"""Waiting that gives way to a stop: what every loop of a service's background work uses
so that a shutdown never waits on AWS retrying an unreachable endpoint."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

T = TypeVar("T")


async def pause(stop: asyncio.Event, seconds: float) -> bool:
    """Sleep ``seconds`` or until ``stop`` is set; True when it was set."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=max(seconds, 0.0))
    return stop.is_set()


async def until_stopped(work: Awaitable[T], stop: asyncio.Event) -> T | None:
    """``work``'s result, or None (with ``work`` cancelled) when ``stop`` is set first."""
    task = asyncio.ensure_future(work)
    stopped = asyncio.create_task(stop.wait())
    await asyncio.wait({task, stopped}, return_when=asyncio.FIRST_COMPLETED)
    stopped.cancel()
    if task.done():
        return task.result()
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    return None


async def flush_until_stopped(
    flush: Callable[[], Awaitable[Any]],
    stop: asyncio.Event,
    *,
    interval: float,
    final_flush_seconds: float,
    on_final_timeout: Callable[[], None],
) -> None:
    """``flush()`` every ``interval`` seconds until ``stop`` (a flush AWS is slow to
    answer gives way to the stop), then once more, bounded by ``final_flush_seconds`` so
    an unreachable endpoint cannot hold up a shutdown; ``on_final_timeout`` says what was
    left unsent."""
    while not await pause(stop, interval):
        await until_stopped(flush(), stop)
    try:
        await asyncio.wait_for(flush(), timeout=final_flush_seconds)
    except TimeoutError:
        on_final_timeout()


def log_unsent(
    logger: logging.Logger, message: str, count: Callable[[], int]
) -> Callable[[], None]:
    """An ``on_final_timeout`` that warns ``message % count()``."""
    return lambda: logger.warning(message, count())
