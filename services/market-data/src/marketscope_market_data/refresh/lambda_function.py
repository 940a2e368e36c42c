"""The Lambda entry point: ``marketscope_market_data.refresh.lambda_function.handler``.

Deployed as a Lambda with the market-data queue as its event source (batch size 10,
``ReportBatchItemFailures`` on), it builds the service through the same
`build_components` as the HTTP app, refreshes, publishes what it appended (there is no
background relay in a Lambda) and flushes its metrics before returning.

Each record must be the refresh rule's Scheduled Event; anything else is a batch item
failure with its reason logged, so the queue's redrive policy moves it to the DLQ after
3 receives. One refresh serves every scheduled record of a batch; when it refreshes
nothing at all (providers down) those records fail and are retried.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from marketscope_market_data.components import build_components
from marketscope_market_data.handlers import RefreshHandlers, providers_failed_everything
from marketscope_market_data.refresh.events import RejectedMessage, parse_scheduled_event
from marketscope_market_data.settings import SERVICE, Settings
from marketscope_platform.aws import AwsClients
from marketscope_servicekit import MetricsRecorder

logger = logging.getLogger(__name__)
SqsEvent = dict[str, Any]  # Lambda's SQS event: {"Records": [...]}
BatchResponse = dict[str, list[dict[str, str]]]  # {"batchItemFailures": [...]}


class SqsBatchRefresh:
    """Lambda's SQS event in, a partial batch response out."""

    def __init__(self, handlers: RefreshHandlers, *, rule_name: str) -> None:
        self._handlers = handlers
        self._rule_name = rule_name

    async def __call__(self, event: SqsEvent) -> BatchResponse:
        failures: list[str] = []
        scheduled: list[str] = []
        for record in event.get("Records", []):
            message_id = str(record.get("messageId", ""))
            try:
                parse_scheduled_event(str(record.get("body", "")), self._rule_name)
            except RejectedMessage as exc:
                logger.error(
                    "rejected a message that is not a scheduled refresh",
                    extra={
                        "message_id": message_id,
                        "reason": str(exc),
                        "receive_count": record.get("attributes", {}).get(
                            "ApproximateReceiveCount"
                        ),
                    },
                )
                failures.append(message_id)
                continue
            scheduled.append(message_id)
        if scheduled and providers_failed_everything(await self._handlers.scheduled_refresh()):
            failures.extend(scheduled)
        return {"batchItemFailures": [{"itemIdentifier": message_id} for message_id in failures]}


def handler(event: SqsEvent, context: object) -> BatchResponse:
    return asyncio.run(_invoke(event))


async def _invoke(event: SqsEvent) -> BatchResponse:
    settings = Settings()
    metrics = MetricsRecorder(SERVICE.name)
    async with AwsClients() as aws:
        components = await build_components(settings, aws, metrics)
        try:
            response = await SqsBatchRefresh(
                components.handlers, rule_name=settings.refresh_rule_name
            )(event)
            await components.relay.publish_pending()
            return response
        finally:
            await components.aclose()
            await metrics.flush(await aws.client("cloudwatch"))
