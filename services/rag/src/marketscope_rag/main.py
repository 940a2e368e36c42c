"""Wiring of the rag service, served as ``uvicorn marketscope_rag.main:app``.

One process is the API, the indexer (consuming DocumentUploaded from its queue) and the
outbox relay, because one process must own the Chroma directory: the API deletes chunks,
the indexer writes them, both search it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from functools import partial
from typing import Any, TypeVar

from fastapi import FastAPI

from marketscope_events import (
    ConsumerSettings,
    DynamoDBEventStore,
    DynamoDBIdempotencyStore,
    MessageReport,
    OutboxRelay,
    SqsConsumer,
)
from marketscope_platform.aws import AwsClients, AwsSettings
from marketscope_rag.api import router
from marketscope_rag.chunking import Chunker
from marketscope_rag.embeddings import Embedder, MiniLMEmbedder, OpenAIEmbedder, TokenCounter
from marketscope_rag.handlers import DocumentEventHandlers
from marketscope_rag.indexing import Indexer
from marketscope_rag.objects import DocumentObjects
from marketscope_rag.publishing import LazySnsPublisher
from marketscope_rag.retrieval import ChunkIndex
from marketscope_rag.service import DocumentService
from marketscope_rag.settings import SERVICE, Settings
from marketscope_rag.store import DocumentRepository
from marketscope_servicekit import (
    MetricsRecorder,
    ReadinessCheck,
    bucket_check,
    create_service_app,
    queue_check,
    table_check,
)

logger = logging.getLogger(__name__)
T = TypeVar("T")
# Indexing is CPU-bound (embedding): more documents at once would only queue for cores.
INDEXING_CONCURRENCY = 2


def readiness_checks(settings: Settings, aws: AwsClients) -> list[ReadinessCheck]:
    return [
        table_check(aws, settings.table_name),
        queue_check(aws, settings.queue_name),
        bucket_check(aws, settings.documents_bucket),
    ]


def build_embedder(settings: Settings) -> Embedder:
    if settings.openai_api_key is not None:
        return OpenAIEmbedder(
            settings.openai_api_key.get_secret_value(),
            settings.openai_embedding_model,
            base_url=settings.openai_base_url,
        )
    return MiniLMEmbedder()


@asynccontextmanager
async def run_background(settings: Settings, app: FastAPI) -> AsyncIterator[None]:
    """Open the index, expose the service, run the relay and the indexing consumer."""
    aws: AwsClients = app.state.aws
    metrics: MetricsRecorder = app.state.metrics
    dynamodb, s3, sqs = [await aws.client(name) for name in ("dynamodb", "s3", "sqs")]
    embedder = await asyncio.to_thread(build_embedder, settings)
    index = await asyncio.to_thread(ChunkIndex.open, settings.index_path, embedder)
    store = DynamoDBEventStore(dynamodb, settings.table_name)
    publisher = LazySnsPublisher(
        await aws.client("sns"), await aws.client("sts"), aws.settings.default_region
    )
    relay = OutboxRelay(store, publisher)
    repository = DocumentRepository(store, dynamodb, settings.table_name)
    objects = DocumentObjects(s3, settings.documents_bucket, settings.documents_prefix)
    app.state.documents = DocumentService(
        repository,
        objects,
        index,
        max_upload_bytes=settings.max_upload_bytes,
        download_url_seconds=settings.download_url_seconds,
        metrics=metrics,
    )
    chunker = Chunker(
        TokenCounter(),
        chunk_tokens=settings.chunk_tokens,
        overlap_tokens=settings.chunk_overlap_tokens,
    )
    indexer = Indexer(repository, objects, index, chunker, metrics=metrics)
    app.state.indexer = indexer
    app.state.index, app.state.event_store = index, store
    stop = asyncio.Event()
    relay_task = asyncio.create_task(relay.run(stop))
    consumer_task = asyncio.create_task(
        _consume(settings, sqs, dynamodb, DocumentEventHandlers(indexer), metrics, stop)
    )
    try:
        yield
    finally:
        stop.set()
        await _finish(consumer_task, settings.poll_wait_seconds + 5)
        await _finish(relay_task, 5)
        index.close()
        del app.state.documents, app.state.indexer, app.state.index, app.state.event_store


async def _consume(
    settings: Settings,
    sqs: Any,
    dynamodb: Any,
    handlers: DocumentEventHandlers,
    metrics: MetricsRecorder,
    stop: asyncio.Event,
) -> None:
    queue_url = await _until_stopped(_queue_url(sqs, settings.queue_name), stop)
    if queue_url is None:
        return

    def report(message: MessageReport) -> None:
        if message.lag_ms is not None:
            metrics.record("EventLag", message.lag_ms, unit="Milliseconds")

    consumer = SqsConsumer(
        sqs,
        ConsumerSettings(
            SERVICE.name,
            queue_url,
            wait_time_seconds=settings.poll_wait_seconds,
            concurrency=INDEXING_CONCURRENCY,
            batch_size=INDEXING_CONCURRENCY,
        ),
        DynamoDBIdempotencyStore(dynamodb, settings.table_name),
        on_report=report,
    )
    handlers.register(consumer)
    running = asyncio.create_task(consumer.run())
    await _until_stopped(asyncio.shield(running), stop)
    consumer.stop()
    await running


async def _queue_url(sqs: Any, name: str) -> str:
    """The queue's URL, retried while AWS is unreachable (the queue is provisioned)."""
    while True:
        try:
            response = await sqs.get_queue_url(QueueName=name)
            return str(response["QueueUrl"])
        except Exception:
            logger.warning("queue %s not reachable yet; retrying", name, exc_info=True)
            await asyncio.sleep(2)


async def _until_stopped(work: Awaitable[T], stop: asyncio.Event) -> T | None:
    task = asyncio.ensure_future(work)
    waiter = asyncio.create_task(stop.wait())
    await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
    waiter.cancel()
    if task.done():
        return task.result()
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    return None


async def _finish(task: asyncio.Task[None], grace: float) -> None:
    try:
        await asyncio.wait_for(task, grace)
    except TimeoutError:
        logger.warning("background task did not stop in %ss; cancelled", grace)
    except Exception:
        logger.exception("background task failed")


def create_app(
    settings: Settings | None = None, aws_settings: AwsSettings | None = None
) -> FastAPI:
    settings = settings or Settings()
    return create_service_app(
        SERVICE.name,
        settings,
        partial(readiness_checks, settings),
        routers=[router],
        aws_settings=aws_settings,
        background=partial(run_background, settings),
    )


app = create_app()
