"""The market-data queue's consumer: the raw route takes Scheduled Events keyed by their
EventBridge id; the refresh rule's refreshes, another rule's is terminal with its reason,
anything else matches no route (terminal), and a refresh the providers failed entirely is
transient. Unknown symbols (even on watchlists saved before they were checked) are counted
apart from provider failures and never trip the alarmed metric."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from marketscope_events import (
    ConsumerSettings,
    InMemoryIdempotencyStore,
    MessageReport,
    Outcome,
    RawMessage,
    RawRoute,
    SqsConsumer,
    TerminalHandlerError,
    TransientHandlerError,
)
from marketscope_market_data.components import Components, build_components
from marketscope_market_data.handlers import SCHEDULED_REFRESH_ROUTE
from marketscope_platform.aws import AwsClients
from marketscope_servicekit import MetricsRecorder

from .conftest import quiet_settings
from .fakes import FakeProvider, scheduled_event, unique, unique_symbol

pytestmark = pytest.mark.integration


def raw(body: Any) -> RawMessage:
    return RawMessage(str(uuid.uuid4()), body, {}, {}, receive_count=1)


class RouteRecorder:
    """Stands in for SqsConsumer where only the registered routes matter."""

    def __init__(self) -> None:
        self.routes: list[RawRoute] = []

    def route_raw(self, route: RawRoute) -> None:
        self.routes.append(route)


async def components(aws: AwsClients, provider: FakeProvider, symbol: str) -> Components:
    settings = quiet_settings(default_watchlist=[symbol])
    return await build_components(
        settings, aws, MetricsRecorder("market-data"), providers=[provider]
    )


async def test_the_route_takes_scheduled_events_keyed_by_their_event_id(aws, provisioned):
    built = await components(aws, FakeProvider(), unique_symbol())
    consumer = RouteRecorder()
    built.handlers.register(consumer)  # type: ignore[arg-type]
    [route] = consumer.routes

    assert route.name == SCHEDULED_REFRESH_ROUTE
    assert route.matches(raw(scheduled_event()))
    assert route.matches(raw(scheduled_event("another-rule")))
    assert not route.matches(raw({"detail-type": "Something Else", "source": "aws.events"}))
    assert not route.matches(raw("not json"))
    assert route.idempotency_key(raw(scheduled_event(event_id="e-1"))) == "e-1"


async def test_the_rules_scheduled_event_refreshes_the_watched_quotes(aws, provisioned):
    symbol = unique_symbol()
    built = await components(aws, FakeProvider(prices={symbol: 12.0}), symbol)

    await built.handlers.on_scheduled_event(raw(scheduled_event()))

    assert (await built.service.quote(symbol)).price == 12.0
    assert built.metrics.percentiles("StockUpdates", unit="Count")
    assert built.metrics.percentiles("ScheduledRefreshFailures", unit="Count")


async def test_another_rules_scheduled_event_is_terminal_with_its_reason(aws, provisioned):
    built = await components(aws, FakeProvider(), unique_symbol())
    with pytest.raises(TerminalHandlerError, match="not from the rule"):
        await built.handlers.on_scheduled_event(raw(scheduled_event("another-rule")))


async def test_a_refresh_that_refreshed_nothing_is_transient(aws, provisioned):
    symbol = unique_symbol()
    provider = FakeProvider(prices={symbol: 1.0})
    provider.down = True
    built = await components(aws, provider, symbol)
    with pytest.raises(TransientHandlerError, match="no quote could be refreshed"):
        await built.handlers.on_scheduled_event(raw(scheduled_event()))


async def test_each_message_gets_its_outcome_on_the_queue(aws, provisioned):
    symbol = unique_symbol()
    provider = FakeProvider(prices={symbol: 2.0})
    built = await components(aws, provider, symbol)
    sqs = await aws.client("sqs")
    url = (await sqs.create_queue(QueueName=f"test-market-data-{uuid.uuid4().hex[:8]}"))["QueueUrl"]
    consumer = SqsConsumer(
        sqs, ConsumerSettings("market-data", url, wait_time_seconds=1), InMemoryIdempotencyStore()
    )
    built.handlers.register(consumer)
    bodies = {
        "refresh": json.dumps(scheduled_event()),
        "other-rule": json.dumps(scheduled_event("another-rule")),
        "poison": json.dumps({"detail-type": "Something Else"}),
    }
    try:
        sent = {
            (await sqs.send_message(QueueUrl=url, MessageBody=body))["MessageId"]: name
            for name, body in bodies.items()
        }
        outcomes: dict[str, MessageReport] = {}
        for _ in range(10):  # rejected messages come straight back: keep the first report
            for report in await consumer.poll_once():
                outcomes.setdefault(sent[report.message_id], report)
            if len(outcomes) == len(sent):
                break
    finally:
        await sqs.delete_queue(QueueUrl=url)

    assert outcomes["refresh"].outcome == Outcome.HANDLED
    assert outcomes["other-rule"].outcome == Outcome.REJECTED
    assert "not from the rule" in (outcomes["other-rule"].reason or "")
    assert outcomes["poison"].outcome == Outcome.REJECTED


async def test_an_unknown_symbol_on_a_saved_watchlist_does_not_count_as_a_failure(aws, provisioned):
    symbol, unknown = unique_symbol(), unique_symbol()
    built = await components(aws, FakeProvider(prices={symbol: 3.0}), symbol)
    # Saved before watchlists were checked: straight to the table.
    await built.service.watchlists.put(unique("owner"), [unknown])

    await built.handlers.on_scheduled_event(raw(scheduled_event()))

    failures = built.metrics.percentiles("ScheduledRefreshFailures", unit="Count")
    unknowns = built.metrics.percentiles("ScheduledRefreshUnknownSymbols", unit="Count")
    assert failures == {"p50": 0.0, "p95": 0.0, "p99": 0.0}
    assert unknowns["p50"] >= 1


async def test_a_refresh_of_only_unknown_symbols_is_not_retried(aws, provisioned):
    # A provider that knows none of the watched symbols (other tests' watchlists included).
    built = await components(aws, FakeProvider(prices={unique_symbol(): 1.0}), unique_symbol())
    await built.handlers.on_scheduled_event(raw(scheduled_event()))
    assert built.metrics.percentiles("ScheduledRefreshFailures", unit="Count")["p99"] == 0.0


async def test_a_provider_failure_still_counts_as_a_failure(aws, provisioned):
    symbol = unique_symbol()
    provider = FakeProvider(prices={symbol: 1.0})
    built = await components(aws, provider, symbol)
    provider.down = True
    with pytest.raises(TransientHandlerError):
        await built.handlers.on_scheduled_event(raw(scheduled_event()))
    assert built.metrics.percentiles("ScheduledRefreshFailures", unit="Count")["p50"] == 1.0
