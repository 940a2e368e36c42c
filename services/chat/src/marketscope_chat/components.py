"""The chat service's built object graph: the event store and its relay, the analyst's
model, its tools (HTTP clients to market-data and rag), the conversations, and the
analyses with their worker."""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

import httpx

from marketscope_chat.analyses.gathering import DataGatherer
from marketscope_chat.analyses.narrative import NarrativeWriter
from marketscope_chat.analyses.reports import ReportStore
from marketscope_chat.analyses.repository import AnalysisRepository
from marketscope_chat.analyses.service import AnalysisService
from marketscope_chat.analyses.worker import AnalysisWorker, WorkerSettings
from marketscope_chat.handlers import ChatHandlers
from marketscope_chat.llm.selection import ModelSource
from marketscope_chat.service import ChatService, ChatSettings
from marketscope_chat.settings import Settings
from marketscope_chat.spending import Budget, Spending
from marketscope_chat.store import ConversationRepository, UsageLedger, open_event_store
from marketscope_chat.tools.clients import ServiceCaller
from marketscope_chat.tools.toolbox import Toolbox, build_toolbox
from marketscope_chat.turns import TurnSettings
from marketscope_events import DynamoDBEventStore, OutboxRelay
from marketscope_platform.aws import AwsClients
from marketscope_servicekit import MetricsRecorder, build_relay
from marketscope_servicekit.calls import caller_limits
from marketscope_servicekit.tracing import Tracing


@dataclass(frozen=True)
class Components:
    settings: Settings
    aws: AwsClients
    metrics: MetricsRecorder
    store: DynamoDBEventStore
    relay: OutboxRelay
    service: ChatService
    analyses: AnalysisService
    handlers: ChatHandlers
    models: ModelSource
    toolbox: Toolbox
    http_clients: tuple[httpx.AsyncClient, ...]

    async def aclose(self) -> None:
        await self.service.aclose()
        await self.models.aclose()
        for client in self.http_clients:
            await client.aclose()


def _client(
    base_url: str, timeout: float, transport: httpx.AsyncBaseTransport | None, tracing: Tracing
) -> httpx.AsyncClient:
    client = httpx.AsyncClient(
        base_url=base_url, timeout=timeout, transport=transport, limits=caller_limits()
    )
    tracing.instrument_client(client)  # spans, and the caller's traceparent downstream
    return client


async def build_components(
    settings: Settings,
    aws: AwsClients,
    metrics: MetricsRecorder,
    tracing: Tracing,
    *,
    internal_key: str,
    transports: Mapping[str, httpx.AsyncBaseTransport] | None = None,
) -> Components:
    transports = transports or {}
    dynamodb = await aws.client("dynamodb")
    store = open_event_store(dynamodb, settings.table_name)
    market_http = _client(
        settings.market_data_url,
        settings.downstream_timeout,
        transports.get("market-data"),
        tracing,
    )
    rag_http = _client(
        settings.rag_url, settings.downstream_timeout, transports.get("rag"), tracing
    )
    llm_http = _client("", settings.llm_timeout, transports.get("llm"), tracing)
    market_data = ServiceCaller("market-data", market_http, internal_key)
    toolbox = build_toolbox(
        market_data,
        ServiceCaller("rag", rag_http, internal_key),
        timeout=settings.tool_timeout,
        metrics=metrics,
    )
    models = ModelSource(settings, aws, http_client=llm_http)
    spending = Spending(
        UsageLedger(dynamodb, settings.table_name),
        settings.prices,
        Budget(settings.daily_token_budget, settings.daily_cost_budget_usd),
    )
    service = ChatService(
        ConversationRepository(store, dynamodb, settings.table_name),
        spending,
        models,
        toolbox,
        metrics,
        ChatSettings(
            conversation_ttl=timedelta(days=settings.conversation_ttl_days),
            answer_tokens=settings.answer_tokens,
            turn=TurnSettings(
                max_rounds=settings.max_rounds,
                correct_ungrounded=settings.correct_ungrounded,
                answer_tokens=settings.answer_tokens,
            ),
        ),
    )
    retention = timedelta(days=settings.analysis_retention_days)
    analyses = AnalysisRepository(store, dynamodb, settings.table_name)
    reports = ReportStore(
        dynamodb,
        settings.table_name,
        await aws.client("s3"),
        settings.reports_bucket,
        settings.reports_prefix,
    )
    worker = AnalysisWorker(
        analyses,
        reports,
        DataGatherer(toolbox),
        NarrativeWriter(spending, metrics, answer_tokens=settings.answer_tokens),
        models,
        metrics,
        WorkerSettings(
            worker=f"{socket.gethostname()}-{os.getpid()}",
            retention=retention,
            max_attempts=settings.analysis_attempts,
        ),
    )
    return Components(
        settings=settings,
        aws=aws,
        metrics=metrics,
        store=store,
        relay=await build_relay(aws, store),
        service=service,
        analyses=AnalysisService(analyses, reports, market_data, spending, retention=retention),
        handlers=ChatHandlers(worker),
        models=models,
        toolbox=toolbox,
        http_clients=(market_http, rag_http, llm_http),
    )
