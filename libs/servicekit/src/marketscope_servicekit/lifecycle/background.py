"""A service's background work (consumers, relays, schedulers) started, kept running and
stopped the same way in every service.

Each job is ``async def job(stop: asyncio.Event) -> None``: it runs until ``stop`` is set.
A job that raises (AWS not answering yet at start-up, a dropped connection later) is logged,
counted in the ``BackgroundTaskFailures`` metric and started again after a backoff that
grows up to ``retry_max_seconds``; a job that returns is done. `stop` sets the event,
waits ``grace_seconds`` for the jobs to finish what they hold and cancels the rest.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from types import TracebackType

from marketscope_servicekit.metrics import MetricsRecorder
from marketscope_servicekit.stopping import pause

logger = logging.getLogger(__name__)

BackgroundJob = Callable[[asyncio.Event], Awaitable[None]]
FAILURE_METRIC = "BackgroundTaskFailures"


class BackgroundTasks:
    def __init__(
        self,
        metrics: MetricsRecorder | None = None,
        *,
        grace_seconds: float = 10.0,
        retry_initial_seconds: float = 1.0,
        retry_max_seconds: float = 30.0,
    ) -> None:
        self.stop_event = asyncio.Event()
        self._metrics = metrics
        self._grace = grace_seconds
        self._retry_initial = retry_initial_seconds
        self._retry_max = retry_max_seconds
        self._tasks: dict[str, asyncio.Task[None]] = {}

    @property
    def names(self) -> list[str]:
        return list(self._tasks)

    def start(self, name: str, job: BackgroundJob) -> None:
        """Run ``job`` until `stop`, restarting it with backoff whenever it raises."""
        if name in self._tasks:
            raise ValueError(f"a background task named {name!r} is already running")
        self._tasks[name] = asyncio.create_task(self._keep_running(name, job), name=name)

    async def _keep_running(self, name: str, job: BackgroundJob) -> None:
        delay = self._retry_initial
        failures = 0
        while not self.stop_event.is_set():
            try:
                await job(self.stop_event)
                return
            except asyncio.CancelledError:
                raise
            except Exception:
                failures += 1
                if self._metrics is not None:
                    self._metrics.increment(FAILURE_METRIC, dimensions={"Task": name})
                # The first failures are usually AWS still starting: say so without a
                # traceback; a job that keeps failing gets one.
                logger.warning(
                    "background task %s failed (%d in a row); restarting in %.1fs",
                    name,
                    failures,
                    delay,
                    exc_info=failures >= 3,
                    extra={"task": name, "failures": failures},
                )
                if await pause(self.stop_event, delay * random.uniform(0.8, 1.2)):
                    return
                delay = min(delay * 2, self._retry_max)

    async def stop(self) -> None:
        """Ask every job to stop, wait for them up to the grace period, cancel the rest."""
        self.stop_event.set()
        tasks = list(self._tasks.values())
        if not tasks:
            return
        _, pending = await asyncio.wait(tasks, timeout=self._grace)
        for task in pending:
            logger.warning(
                "background task %s did not stop in %ss; cancelled", task.get_name(), self._grace
            )
            task.cancel()
        results = await asyncio.gather(*tasks, return_exceptions=True)
        for task, result in zip(tasks, results, strict=True):
            if isinstance(result, BaseException) and not isinstance(result, asyncio.CancelledError):
                logger.error(
                    "background task %s failed while stopping", task.get_name(), exc_info=result
                )
        self._tasks.clear()

    async def __aenter__(self) -> BackgroundTasks:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()
