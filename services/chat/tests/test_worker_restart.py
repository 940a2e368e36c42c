"""The analysis worker as it runs in production, in processes of its own: killed with
SIGKILL in the middle of a job (while the model writes), a new worker process finishes
the job as its next attempt; and a job cancelled while it runs stays cancelled. The
model is a loopback server speaking OpenAI's wire format, driven by the real openai
client inside the worker."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio

from marketscope_events import CATALOG, DynamoDBEventStore
from marketscope_events.subscriptions import ServiceSubscription
from marketscope_platform.aws import AwsClients, AwsSettings
from marketscope_servicekit import Identity
from marketscope_servicekit.testing import GatewaySigner, free_port, served

from .analyses_support import private_queue, wait_finished
from .openai_server import (
    Pause,
    ScriptedOpenAI,
    finish_chunk,
    role_chunk,
    streamed,
    text_chunk,
    usage_chunk,
)
from .tool_services import Services, running_services, user

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]
STARTED_SECONDS = 60.0
NARRATIVE = "AAPL closed where the facts say; nothing here is made up."


@dataclass
class Deployment:
    """What a worker process is started against."""

    aws_settings: AwsSettings
    services: Services
    queue: ServiceSubscription
    model_url: str
    model: ScriptedOpenAI
    logs: Path

    def environment(self, port: int) -> dict[str, str]:
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith("MARKETSCOPE_CHAT_")
        }
        return env | {
            "AWS_ENDPOINT_URL": str(self.aws_settings.endpoint_url),
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "MARKETSCOPE_CHAT_PORT": str(port),
            "MARKETSCOPE_CHAT_QUEUE_NAME": self.queue.queue.url.rsplit("/", 1)[-1],
            "MARKETSCOPE_CHAT_MARKET_DATA_URL": self.services.market_data_url,
            "MARKETSCOPE_CHAT_RAG_URL": self.services.rag_url,
            "MARKETSCOPE_CHAT_LLM_PROVIDER": "compatible",
            "MARKETSCOPE_CHAT_LLM_BASE_URL": f"{self.model_url}/v1",
            "MARKETSCOPE_CHAT_LLM_MODEL": "gpt-4o-mini",
            "MARKETSCOPE_CHAT_LLM_MAX_RETRIES": "0",
            # A dead worker's job comes back within seconds, not a minute.
            "MARKETSCOPE_CHAT_ANALYSIS_VISIBILITY_SECONDS": "4",
            "MARKETSCOPE_CHAT_ANALYSIS_CLAIM_SECONDS": "3",
        }


@contextmanager
def worker_process(
    deployment: Deployment, name: str
) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    port = free_port()
    log = (deployment.logs / f"{name}.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "marketscope_chat"],
        env=deployment.environment(port),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        yield process, f"http://127.0.0.1:{port}"
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        log.close()


async def wait_ready(url: str, process: subprocess.Popen[bytes], logs: Path) -> None:
    deadline = time.monotonic() + STARTED_SECONDS
    async with httpx.AsyncClient(base_url=url, timeout=5.0) as client:
        while True:
            assert process.poll() is None, f"the worker exited; its log is in {logs}"
            try:
                if (await client.get("/readyz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass  # not listening yet
            assert time.monotonic() < deadline, "the worker never became ready"
            await asyncio.sleep(0.3)


def client_of(url: str, owner: str) -> httpx.AsyncClient:
    key = os.environ["MARKETSCOPE_INTERNAL_KEY"]
    return httpx.AsyncClient(base_url=url, timeout=30.0, auth=GatewaySigner(key, Identity(owner)))


async def stream_names(store: DynamoDBEventStore, analysis_id: str) -> list[tuple[str, Any]]:
    events = [CATALOG.decode(e) for e in await store.read(f"Analysis#{analysis_id}")]
    return [(event.envelope.event_type.name, event.data) for event in events]


async def wait_writing(store: DynamoDBEventStore, analysis_id: str, model: ScriptedOpenAI) -> None:
    """Until the worker asked the model for the narrative."""
    deadline = time.monotonic() + STARTED_SECONDS
    while not model.chat_requests:
        assert time.monotonic() < deadline, await stream_names(store, analysis_id)
        await asyncio.sleep(0.1)
    names = [name for name, _ in await stream_names(store, analysis_id)]
    assert "AnalysisCompleted" not in names


def answer() -> Any:
    return streamed(role_chunk(), text_chunk(NARRATIVE), finish_chunk("stop"), usage_chunk(900, 14))


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def deployment(
    provisioned: str, aws_settings: AwsSettings, internal_key: str, tmp_path_factory: Any
) -> AsyncIterator[tuple[Deployment, DynamoDBEventStore]]:
    index = tmp_path_factory.mktemp("restart-rag") / "chroma"
    logs = tmp_path_factory.mktemp("worker-logs")
    model = ScriptedOpenAI()
    async with AsyncExitStack() as stack:
        aws = AwsClients(aws_settings)
        stack.push_async_callback(aws.close)
        queue = await stack.enter_async_context(private_queue(aws, "restart"))
        services = await stack.enter_async_context(
            running_services(aws_settings, index, internal_key)
        )
        model_url = await stack.enter_async_context(served(model.app))
        store = DynamoDBEventStore(await aws.client("dynamodb"), "marketscope-chat")
        yield Deployment(aws_settings, services, queue, model_url, model, logs), store


async def test_a_worker_killed_mid_job_leaves_the_job_to_the_next_one(
    deployment: tuple[Deployment, DynamoDBEventStore],
) -> None:
    running, store = deployment
    running.model.requests.clear()
    # The first worker's model call hangs until the worker dies; the next one answers.
    running.model.enqueue(streamed(role_chunk(), text_chunk("Half a"), Pause(120)), answer())
    owner = user()
    with worker_process(running, "first") as (first, first_url):
        await wait_ready(first_url, first, running.logs)
        async with client_of(first_url, owner) as client:
            accepted = await client.post("/analyses", json={"kind": "stock", "symbols": ["AAPL"]})
        assert accepted.status_code == 202, accepted.text
        analysis_id = accepted.json()["analysis_id"]
        await wait_writing(store, analysis_id, running.model)
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
    with worker_process(running, "second") as (second, second_url):
        await wait_ready(second_url, second, running.logs)
        async with client_of(second_url, owner) as client:
            done = await wait_finished(client, analysis_id, seconds=60)
    assert done["status"] == "completed", done
    assert done["attempts"] == 2
    assert done["report"]["content"]["narrative"]["text"] == NARRATIVE
    assert done["report"]["prompt_tokens"] == 900
    names = [name for name, _ in await stream_names(store, analysis_id)]
    assert names.count("AnalysisStarted") == 2
    assert names.count("AnalysisCompleted") == 1
    assert len(running.model.chat_requests) == 2


async def test_a_job_cancelled_while_it_runs_stays_cancelled(
    deployment: tuple[Deployment, DynamoDBEventStore],
) -> None:
    running, store = deployment
    running.model.requests.clear()
    # The model takes its time: the owner cancels meanwhile.
    running.model.enqueue(
        streamed(role_chunk(), Pause(3), text_chunk(NARRATIVE), finish_chunk("stop"))
    )
    owner = user()
    with worker_process(running, "cancelling") as (worker, url):
        await wait_ready(url, worker, running.logs)
        async with client_of(url, owner) as client:
            accepted = await client.post("/analyses", json={"kind": "stock", "symbols": ["MSFT"]})
            analysis_id = accepted.json()["analysis_id"]
            await wait_writing(store, analysis_id, running.model)
            cancelled = await client.delete(f"/analyses/{analysis_id}")
            await asyncio.sleep(5)  # the model answers; the worker finds the job cancelled
            body = (await client.get(f"/analyses/{analysis_id}")).json()
    assert cancelled.status_code == 204, cancelled.text
    assert body["status"] == "cancelled"
    names = [name for name, _ in await stream_names(store, analysis_id)]
    assert names[-1] == "AnalysisCancelled"
    assert "AnalysisCompleted" not in names
