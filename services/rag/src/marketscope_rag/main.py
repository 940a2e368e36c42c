"""The rag app, served as ``uvicorn marketscope_rag.main:app``, and the background jobs it
starts.

One process is the API, the indexer (consuming DocumentUploaded from its queue), the
outbox relay and, once at start, the reconciler of the index with the table, because one
process must own the Chroma directory: the API deletes chunks, the indexer writes them,
the reconciler repairs them, all of them search it.
"""

from __future__ import annotations

from functools import partial

from fastapi import FastAPI

from marketscope_platform.aws import AwsClients, AwsSettings
from marketscope_rag.api import router
from marketscope_rag.components import Components, build_components
from marketscope_rag.settings import SERVICE, Settings
from marketscope_servicekit import (
    BackgroundTasks,
    ConsumerOptions,
    ReadinessCheck,
    bucket_check,
    create_service_app,
    queue_check,
    run_consumer,
    run_relay,
    table_check,
)

# Documents in hand at once. Their CPU-bound work waits for `FairTurns` (two at a time),
# so a document waiting costs a future; holding many lets every owner's newest upload
# reach the turns, while an owner's chunk quota bounds how many of the held documents
# can be long ones (20,000 / 2,000 by default: 10 < 32).
DOCUMENTS_IN_HAND = 32


def readiness_checks(
    settings: Settings, aws: AwsClients, components: Components
) -> list[ReadinessCheck]:
    checks = [
        table_check(aws, settings.table_name),
        queue_check(aws, settings.queue_name),
        bucket_check(aws, settings.documents_bucket, settings.documents_prefix),
    ]
    if settings.reconcile_index_at_start:
        # Never fails: it reports how far reconciling the index with the table got.
        checks.append(components.reconciler.readiness_check())
    return checks


def start_background(components: Components, tasks: BackgroundTasks) -> None:
    settings = components.settings
    tasks.start("outbox-relay", run_relay(components.relay))
    if settings.reconcile_index_at_start:
        tasks.start("index-reconciler", components.reconciler.run)
    tasks.start(
        "consumer",
        run_consumer(
            components.aws,
            service=SERVICE.name,
            queue=settings.queue_name,
            table_name=settings.table_name,
            metrics=components.metrics,
            register=components.handlers.register,
            options=ConsumerOptions(
                concurrency=DOCUMENTS_IN_HAND,
                batch_size=10,
                wait_time_seconds=settings.poll_wait_seconds,
            ),
        ),
    )


def create_app(
    settings: Settings | None = None, aws_settings: AwsSettings | None = None
) -> FastAPI:
    settings = settings or Settings()
    return create_service_app(
        SERVICE.name,
        settings,
        build=partial(build_components, settings),
        readiness_checks=partial(readiness_checks, settings),
        start=start_background,
        routers=[router],
        aws_settings=aws_settings,
        # A poll in flight may take its whole wait before the consumer can stop.
        shutdown_grace_seconds=settings.poll_wait_seconds + 5,
    )


app = create_app()
