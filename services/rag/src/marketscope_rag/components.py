"""The rag service's object graph, built from its settings and AWS clients.

Building makes no AWS call (clients connect on first use). It does load the embedding
model and open the Chroma index, both blocking, in a worker thread. The index directory
is locked for as long as it is open (`VectorIndex`): a second process pointed at it fails
here, at start-up, instead of corrupting it. `Components.aclose` releases it. The
`IndexReconciler` brings the index in line with the table once the app has started.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

from marketscope_events import DynamoDBEventStore, OutboxRelay
from marketscope_platform.aws import AwsClients
from marketscope_rag.documents.objects import DocumentObjects
from marketscope_rag.embeddings.base import Embedder
from marketscope_rag.embeddings.minilm import MiniLMEmbedder
from marketscope_rag.embeddings.openai import OpenAIEmbedder
from marketscope_rag.embeddings.query_cache import QUERY_VECTORS_KEPT, QueryVectorCache
from marketscope_rag.embeddings.tokens import TokenCounter
from marketscope_rag.handlers import DocumentEventHandlers
from marketscope_rag.indexing.chunking import Chunker
from marketscope_rag.indexing.indexer import Indexer, IndexingLimits
from marketscope_rag.indexing.reconcile import IndexReconciler
from marketscope_rag.indexing.turns import FairTurns
from marketscope_rag.quotas.usage import Quotas, UsageLedger
from marketscope_rag.search.glossary import Glossary, bundled_glossary
from marketscope_rag.search.retrieval import ChunkIndex
from marketscope_rag.search.vector_index import VectorIndex
from marketscope_rag.service import DocumentService
from marketscope_rag.settings import Settings
from marketscope_rag.store import DocumentRepository
from marketscope_servicekit import MetricsRecorder, build_relay

# Indexing is CPU-bound (extraction, embedding): more turns at once would only queue for
# the cores.
INDEXING_WORKERS = 2


def build_embedder(settings: Settings) -> Embedder:
    """OpenAI embeddings when a key is configured, the offline MiniLM model otherwise."""
    if settings.openai_api_key is not None:
        return OpenAIEmbedder(
            settings.openai_api_key.get_secret_value(),
            settings.openai_embedding_model,
            base_url=settings.openai_base_url,
        )
    return MiniLMEmbedder()


def load_glossary(path: Path | None) -> Glossary:
    """The deployment's glossary file, or the bundled finance glossary."""
    return bundled_glossary() if path is None else Glossary.load(path)


def open_index(
    path: Path,
    embedder: Embedder,
    *,
    query_vectors_kept: int = QUERY_VECTORS_KEPT,
    glossary: Glossary | None = None,
) -> tuple[VectorIndex, ChunkIndex]:
    """The Chroma collection (which the reconciler lists) and the index over it."""
    vectors = VectorIndex(path, embedder)
    try:
        cache = QueryVectorCache(embedder, kept=query_vectors_kept)
        return vectors, ChunkIndex(vectors, embedder, query_vectors=cache, glossary=glossary)
    except BaseException:
        vectors.close()
        raise


@dataclass
class Components:
    settings: Settings
    aws: AwsClients
    metrics: MetricsRecorder
    store: DynamoDBEventStore
    relay: OutboxRelay
    index: ChunkIndex
    usage: UsageLedger
    documents: DocumentService
    handlers: DocumentEventHandlers
    reconciler: IndexReconciler

    async def aclose(self) -> None:
        self.index.close()


async def build_components(
    settings: Settings, aws: AwsClients, metrics: MetricsRecorder
) -> Components:
    dynamodb = await aws.client("dynamodb")
    store = DynamoDBEventStore(dynamodb, settings.table_name)
    relay = await build_relay(aws, store)
    repository = DocumentRepository(store, dynamodb, settings.table_name)
    objects = DocumentObjects(
        await aws.client("s3"), settings.documents_bucket, settings.documents_prefix
    )
    chunker = Chunker(
        TokenCounter(),
        chunk_tokens=settings.chunk_tokens,
        overlap_tokens=settings.chunk_overlap_tokens,
    )
    embedder = await asyncio.to_thread(build_embedder, settings)
    glossary = load_glossary(settings.glossary_path)
    # Opened last: nothing after it can fail and leave the directory locked.
    vectors, index = await asyncio.to_thread(
        open_index,
        settings.index_path,
        embedder,
        query_vectors_kept=settings.query_vectors_kept,
        glossary=glossary,
    )
    usage = UsageLedger(
        dynamodb,
        settings.table_name,
        Quotas(storage_bytes=settings.storage_quota_bytes, chunks=settings.chunk_quota),
    )
    documents = DocumentService(
        repository,
        objects,
        index,
        usage,
        max_upload_bytes=settings.max_upload_bytes,
        download_url_seconds=settings.download_url_seconds,
        metrics=metrics,
    )
    indexer = Indexer(
        repository,
        objects,
        index,
        chunker,
        usage=usage,
        turns=FairTurns(INDEXING_WORKERS),
        limits=IndexingLimits(
            max_document_chunks=settings.max_document_chunks,
            slice_chunks=settings.indexing_slice_chunks,
        ),
        metrics=metrics,
    )
    return Components(
        settings=settings,
        aws=aws,
        metrics=metrics,
        store=store,
        relay=relay,
        index=index,
        usage=usage,
        documents=documents,
        handlers=DocumentEventHandlers(indexer),
        reconciler=IndexReconciler(repository, vectors, index, indexer),
    )
