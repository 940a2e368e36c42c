"""BackgroundTasks: jobs restart with backoff when they raise, stop within the grace
period, and failures are counted."""

from __future__ import annotations

import asyncio

import pytest

from marketscope_servicekit import BackgroundTasks, MetricsRecorder
from marketscope_servicekit.lifecycle.background import FAILURE_METRIC


def failures(metrics: MetricsRecorder) -> int:
    data = [
        datum
        for datum in metrics.pending()
        if datum["MetricName"] == FAILURE_METRIC
        and {"Name": "Task", "Value": "flaky"} in datum["Dimensions"]
    ]
    return int(
        sum(
            sum(datum["Values"][i] * datum["Counts"][i] for i in range(len(datum["Values"])))
            for datum in data
        )
    )


async def test_a_failing_job_is_restarted_until_it_succeeds() -> None:
    metrics = MetricsRecorder("demo")
    attempts: list[int] = []
    done = asyncio.Event()

    async def flaky(stop: asyncio.Event) -> None:
        attempts.append(1)
        if len(attempts) < 3:
            raise ConnectionError("AWS is still starting")
        done.set()

    tasks = BackgroundTasks(metrics, retry_initial_seconds=0.01, retry_max_seconds=0.02)
    tasks.start("flaky", flaky)
    await asyncio.wait_for(done.wait(), timeout=5)
    await tasks.stop()
    assert len(attempts) == 3
    assert failures(metrics) == 2


async def test_stop_lets_jobs_finish_and_cancels_the_ones_past_the_grace() -> None:
    finished: list[str] = []

    async def polite(stop: asyncio.Event) -> None:
        await stop.wait()
        finished.append("polite")

    async def stubborn(stop: asyncio.Event) -> None:
        try:
            await asyncio.sleep(3600)
        finally:
            finished.append("stubborn cancelled")

    tasks = BackgroundTasks(grace_seconds=0.2)
    tasks.start("polite", polite)
    tasks.start("stubborn", stubborn)
    await asyncio.sleep(0.01)
    loop = asyncio.get_running_loop()
    started = loop.time()
    await tasks.stop()
    assert loop.time() - started < 2
    assert sorted(finished) == ["polite", "stubborn cancelled"]
    assert tasks.names == []


async def test_no_restart_once_stopping() -> None:
    attempts: list[int] = []

    async def always_fails(stop: asyncio.Event) -> None:
        attempts.append(1)
        raise RuntimeError("broken")

    tasks = BackgroundTasks(retry_initial_seconds=10)
    tasks.start("broken", always_fails)
    await asyncio.sleep(0.05)
    await tasks.stop()
    assert attempts == [1]


async def test_names_are_unique() -> None:
    async def job(stop: asyncio.Event) -> None:
        await stop.wait()

    async with BackgroundTasks() as tasks:
        tasks.start("one", job)
        with pytest.raises(ValueError, match="one"):
            tasks.start("one", job)
