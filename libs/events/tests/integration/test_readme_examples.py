"""The README's producer and consumer, executed as written, against the AWS backend."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from marketscope_events.publishing import TopicDirectory
from marketscope_events.store import ensure_table
from marketscope_events.subscriptions import subscribe_service
from marketscope_platform import AwsClients

pytestmark = pytest.mark.integration

README = Path(__file__).resolve().parents[2] / "README.md"


def readme_example(name: str) -> str:
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.DOTALL)
    [block] = [b for b in blocks if b.startswith(f"# example: {name}\n")]
    return block


def test_examples_are_short() -> None:
    for name in ("producer", "consumer"):
        code_lines = [line for line in readme_example(name).splitlines() if line.strip()]
        assert len(code_lines) < 30, name


def test_stream_example_runs(tmp_path: Path) -> None:
    code = readme_example("stream")
    assert len([line for line in code.splitlines() if line.strip()]) < 30
    (tmp_path / "stream.py").write_text(code)
    result = subprocess.run(
        [sys.executable, str(tmp_path / "stream.py")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "AAPL at 102 after 2 events\n"


async def test_producer_and_consumer_examples_run(
    aws: AwsClients, aws_endpoint: str, topics: TopicDirectory, tmp_path: Path
) -> None:
    await ensure_table(await aws.client("dynamodb"), "marketscope-market-data")
    await ensure_table(await aws.client("dynamodb"), "marketscope-notifier")
    await subscribe_service(
        await aws.client("sns"),
        await aws.client("sqs"),
        topics,
        "notifier",
        queue_name="marketscope-notifier",
        dlq_name="marketscope-notifier-dlq",
    )
    env = {**os.environ, "AWS_ENDPOINT_URL": aws_endpoint}
    for name in ("producer", "consumer"):
        (tmp_path / f"{name}.py").write_text(readme_example(name))
    await asyncio.to_thread(run_producer_and_consumer, tmp_path, env)


def run_producer_and_consumer(folder: Path, env: dict[str, str]) -> None:
    consumer = subprocess.Popen(
        [sys.executable, str(folder / "consumer.py")],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        producer = subprocess.run(
            [sys.executable, str(folder / "producer.py")],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert producer.returncode == 0, producer.stderr
        assert "published" in producer.stdout
        assert consumer.stdout is not None
        deadline = time.monotonic() + 30
        line = ""
        while "AAPL is now 187.25" not in line:
            assert time.monotonic() < deadline, "the consumer printed nothing"
            line = consumer.stdout.readline()
        started = time.monotonic()
        consumer.send_signal(signal.SIGTERM)
        assert consumer.wait(timeout=20) == 0, consumer.stderr.read() if consumer.stderr else ""
        # stop() lets the poll in flight end (at most wait_time_seconds, 10 s) and returns.
        assert time.monotonic() - started < 13
    finally:
        if consumer.poll() is None:
            consumer.kill()
            consumer.wait()
