"""One trace across every hop, read back from the emulator's X-Ray: the services run on
loopback ports (each its own tracer, as in its own process), a request carries a
``traceparent`` in, and the events it causes carry it through SNS and SQS to the
consumers, whose spans are children of the span that produced the event. Every service
here samples every trace (`SAMPLE_EVERY_TRACE`): the tests read whole traces back."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import date, timedelta

import httpx
import pytest

from marketscope_events import CATALOG, DynamoDBEventStore
from marketscope_events.catalog import QuoteUpdated
from marketscope_gateway.main import create_app as create_gateway
from marketscope_gateway.settings import Settings as GatewaySettings
from marketscope_market_data.main import create_app as create_market_data
from marketscope_market_data.settings import Settings as MarketDataSettings
from marketscope_market_data.store import stream_id
from marketscope_notifier.main import create_app as create_notifier
from marketscope_notifier.settings import Settings as NotifierSettings
from marketscope_platform.aws import AwsClients, AwsSettings
from marketscope_platform.topology import SERVICES
from marketscope_servicekit.testing import private_subscription, served

from ..stack import PASSWORD, SAMPLE_EVERY_TRACE, Stack, in_stack_loop
from .xray import ancestors, consumer_spans, new_traceparent, services, spans_once

pytestmark = pytest.mark.integration

GATEWAY, MARKET_DATA, NOTIFIER = (
    f"marketscope-{name}" for name in ("gateway", "market-data", "notifier")
)
SYMBOLS = ("AAPL", "GOOG", "IBM", "MSFT")
# The replay's stocks trade until 2013-12-31: a day with room after it.
LAST_USABLE_DAY = date(2013, 12, 1)


async def fresh_quote(aws: AwsClients) -> tuple[str, date]:
    """A symbol and a replay day newer than its stream's last quote: a stream publishes
    only a newer price, and the emulator's streams outlive a test (other tests replay
    and advance the clock)."""
    store = DynamoDBEventStore(await aws.client("dynamodb"), SERVICES["market-data"].table)
    heads: dict[str, date] = {}
    for symbol in SYMBOLS:
        events = await store.read(stream_id(symbol))
        last = CATALOG.decode(events[-1]).data if events else None
        heads[symbol] = last.as_of.date() if isinstance(last, QuoteUpdated) else date(2000, 1, 1)
    symbol = min(heads, key=lambda name: heads[name])
    day = max(heads[symbol] + timedelta(days=7), date(2012, 3, 1))
    assert day <= LAST_USABLE_DAY, f"every quote stream is at the end of the replay: {heads}"
    return symbol, day


@dataclass(frozen=True)
class QuoteStack:
    aws: AwsClients
    client: httpx.AsyncClient
    headers: dict[str, str]
    symbol: str


@pytest.fixture
async def quote_stack(provisioned: str, aws_settings: AwsSettings) -> AsyncIterator[QuoteStack]:
    """market-data, the notifier (on a queue of this test's own) and the gateway (with
    its instance queue and WebSocket feed) on loopback ports."""
    async with AsyncExitStack() as started:
        aws = AwsClients(aws_settings)
        started.push_async_callback(aws.close)
        queue = await started.enter_async_context(private_subscription(aws, "notifier", "trace"))
        symbol, replay_day = await fresh_quote(aws)
        market_data_url = await started.enter_async_context(
            served(
                create_market_data(
                    MarketDataSettings(
                        live_refresh=False,
                        embedded_scheduler=False,
                        replay_start=replay_day,
                        trace_sampling_rate=SAMPLE_EVERY_TRACE,
                    ),
                    aws_settings,
                )
            )
        )
        notifier_url = await started.enter_async_context(
            served(
                create_notifier(
                    NotifierSettings(
                        queue_name=queue.queue.name, trace_sampling_rate=SAMPLE_EVERY_TRACE
                    ),
                    aws_settings,
                )
            )
        )
        gateway = create_gateway(
            GatewaySettings(
                market_data_url=market_data_url,
                notifier_url=notifier_url,
                instance_id=f"trace-{uuid.uuid4().hex[:10]}",
                registrations_per_ip=1_000_000,
                trace_sampling_rate=SAMPLE_EVERY_TRACE,
            ),
            aws_settings,
        )
        gateway_url = await started.enter_async_context(served(gateway))
        client = await started.enter_async_context(
            httpx.AsyncClient(base_url=gateway_url, timeout=30.0)
        )
        credentials = {"email": f"trace-{uuid.uuid4().hex[:12]}@example.com", "password": PASSWORD}
        registered = await client.post("/api/v1/auth/register", json=credentials)
        assert registered.status_code == 201, registered.text
        login = await client.post("/api/v1/auth/login", json=credentials)
        assert login.status_code == 200, login.text
        headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
        await gateway.state.components.live_feed.subscribed.wait()
        yield QuoteStack(aws, client, headers, symbol)


async def test_a_quote_request_is_one_trace_through_sns_to_every_consumer(
    quote_stack: QuoteStack,
) -> None:
    traceparent = new_traceparent()
    quote = await quote_stack.client.get(
        f"/api/v1/quotes/{quote_stack.symbol}",
        headers={**quote_stack.headers, "traceparent": traceparent},
    )
    assert quote.status_code == 200, quote.text

    # Each service exports its spans in batches of its own: the consumers' may reach X-Ray
    # before market-data's request span, so the trace is complete when all have.
    spans = await spans_once(
        quote_stack.aws,
        traceparent,
        lambda found: (
            {GATEWAY, NOTIFIER} <= set(consumer_spans(found, "QuoteUpdated"))
            and any(s.service == MARKET_DATA and s.status == 200 for s in found)
        ),
    )

    assert {GATEWAY, MARKET_DATA, NOTIFIER} <= services(spans)
    request = next(s for s in spans if s.service == GATEWAY and s.parent_id == traceparent[36:52])
    assert request.name == "GET /api/v1/quotes/{symbol}"
    market = next(s for s in spans if s.service == MARKET_DATA and s.status == 200)
    assert request in ancestors(market, spans)  # through the gateway's HTTP client span
    for consumer in consumer_spans(spans, "QuoteUpdated").values():
        # The consumer continues from the span that appended the event: market-data's.
        assert market in ancestors(consumer, spans), consumer
        assert consumer.duration_ms is not None


@in_stack_loop
async def test_an_upload_is_one_trace_to_its_indexing_and_the_indexed_notice(
    stack: Stack,
) -> None:
    traceparent = new_traceparent()
    note = f"# Traced\n\nThe tracemark{uuid.uuid4().hex[:10]} note.\n".encode()
    uploaded = await stack.client.post(
        "/api/v1/documents",
        headers={**stack.a.headers, "traceparent": traceparent},
        files={"file": ("traced.md", note, "text/markdown")},
    )
    assert uploaded.status_code in (201, 202), uploaded.text

    rag = "marketscope-rag"
    async with AwsClients(stack.aws_settings) as aws:
        # Each service exports its spans in batches of its own: the notices' consumers may
        # reach X-Ray before rag's upload and indexing spans, so wait for those too.
        spans = await spans_once(
            aws,
            traceparent,
            lambda found: (
                {GATEWAY, NOTIFIER} <= set(consumer_spans(found, "DocumentIndexed"))
                and rag in consumer_spans(found, "DocumentUploaded")
                and any(s.service == rag and s.status in (201, 202) for s in found)
            ),
        )

    [indexing] = consumer_spans(spans, "DocumentUploaded").values()
    assert indexing.service == rag
    assert any(s.service == rag and s.status in (201, 202) for s in ancestors(indexing, spans))
    for notice in consumer_spans(spans, "DocumentIndexed").values():
        assert indexing in ancestors(notice, spans)
    assert {GATEWAY, rag, NOTIFIER} <= services(spans)


@in_stack_loop
async def test_an_analysis_request_is_one_trace_to_its_completion(stack: Stack) -> None:
    traceparent = new_traceparent()
    requested = await stack.client.post(
        "/api/v1/analyses",
        json={"kind": "stock", "symbols": ["IBM"]},
        headers={**stack.b.headers, "traceparent": traceparent},
    )
    assert requested.status_code == 202, requested.text

    async with AwsClients(stack.aws_settings) as aws:
        # The worker's span ends (and is exported) after the job has published its
        # AnalysisCompleted, which the gateway may handle and export first.
        spans = await spans_once(
            aws,
            traceparent,
            lambda found: (
                GATEWAY in consumer_spans(found, "AnalysisCompleted")
                and "marketscope-chat" in consumer_spans(found, "AnalysisRequested")
                # market-data's and rag's spans of the worker's calls, in their batches
                and len(services(found)) >= 3
            ),
        )

    chat = "marketscope-chat"
    [worker] = consumer_spans(spans, "AnalysisRequested").values()
    assert worker.service == chat
    completed = consumer_spans(spans, "AnalysisCompleted")[GATEWAY]
    assert worker in ancestors(completed, spans)
    assert {GATEWAY, chat} <= services(spans)
    assert len(services(spans)) >= 3  # the worker's calls to market-data and rag
