"""The Lambda entry point: ``marketscope_market_data.refresh.lambda_function.handler``.

Deployed as a Lambda with the market-data queue as its event source (batch size 10,
``ReportBatchItemFailures`` on), it builds the service from the same settings and
environment as the HTTP app, refreshes, publishes what it appended (there is no
background relay in a Lambda) and flushes its metrics before returning.
"""

from __future__ import annotations

import asyncio
from typing import Any

from marketscope_events import OutboxRelay
from marketscope_events.publishing import SnsPublisher, TopicDirectory
from marketscope_market_data.runtime import build_runtime
from marketscope_market_data.settings import SERVICE, Settings
from marketscope_platform.aws import AwsClients
from marketscope_servicekit import MetricsRecorder


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return asyncio.run(_invoke(event, context))


async def _invoke(event: dict[str, Any], context: Any) -> dict[str, Any]:
    metrics = MetricsRecorder(SERVICE.name)
    async with AwsClients() as aws:
        runtime = await build_runtime(Settings(), aws, metrics)
        topics = await TopicDirectory.from_sts(await aws.client("sts"), aws.settings.default_region)
        relay = OutboxRelay(runtime.store, SnsPublisher(await aws.client("sns"), topics))
        try:
            return await runtime.refresh_handler(relay.publish_pending)(event, context)
        finally:
            runtime.close()
            await metrics.flush(await aws.client("cloudwatch"))
