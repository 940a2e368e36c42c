"""The chat service's built object graph: the conversation store and its relay, the
analyst's model, its tools (HTTP clients to market-data and rag) and the service."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

import httpx

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
from marketscope_servicekit.tracing import Tracing


@dataclass(frozen=True)
class Components:
    store: DynamoDBEventStore
    relay: OutboxRelay
    service: ChatService
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
    client = httpx.AsyncClient(base_url=base_url, timeout=timeout, transport=transport)
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
    toolbox = build_toolbox(
        ServiceCaller("market-data", market_http, internal_key),
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
    return Components(
        store=store,
        relay=await build_relay(aws, store),
        service=service,
        models=models,
        toolbox=toolbox,
        http_clients=(market_http, rag_http, llm_http),
    )
