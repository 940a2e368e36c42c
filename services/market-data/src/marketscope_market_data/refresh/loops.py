"""What the embedded stack runs because its emulator fires no schedules and invokes no
Lambda: a scheduler that puts the refresh rule's Scheduled Event on the bus at the cron
times (the rule routes it to the queue, as on AWS), a poller that plays Lambda's SQS event
source mapping, and a live loop that advances the replay clock and refreshes."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from marketscope_events.timeutil import Clock, utc_now
from marketscope_market_data.refresh.events import scheduled_event_entry, sqs_event
from marketscope_market_data.refresh.schedule import CronSchedule

logger = logging.getLogger(__name__)
SqsHandler = Callable[[dict[str, Any], Any], Awaitable[dict[str, Any]]]
AWS_ERRORS = (ClientError, BotoCoreError, OSError)


async def _pause(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=max(seconds, 0.0))


@dataclass
class InvocationContext:
    """The parts of Lambda's context object a handler may read."""

    function_name: str
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))


class EmbeddedScheduler:
    def __init__(
        self,
        events: Any,
        *,
        rule_name: str,
        bus: str,
        schedule: CronSchedule,
        clock: Clock = utc_now,
    ) -> None:
        self._events = events
        self._rule_name = rule_name
        self._bus = bus
        self._schedule = schedule
        self._clock = clock

    async def fire(self, rule_arn: str) -> None:
        entry = scheduled_event_entry(rule_arn, self._clock(), self._bus)
        response = await self._events.put_events(Entries=[entry])
        if response.get("FailedEntryCount"):
            logger.error("scheduled event not accepted", extra={"entries": response["Entries"]})

    async def run(self, stop: asyncio.Event) -> None:
        rule_arn: str | None = None
        while not stop.is_set():
            try:
                if rule_arn is None:
                    rule = await self._events.describe_rule(
                        Name=self._rule_name, EventBusName=self._bus
                    )
                    rule_arn = str(rule["Arn"])
                due = self._schedule.next_after(self._clock())
                await _pause(stop, (due - self._clock()).total_seconds())
                if not stop.is_set():
                    await self.fire(rule_arn)
                    logger.info("scheduled event put on the bus", extra={"rule": self._rule_name})
            except AWS_ERRORS:
                logger.warning("embedded scheduler: AWS call failed; retrying", exc_info=True)
                await _pause(stop, 5.0)


class QueuePoller:
    """Long-polls the queue, calls the handler with an SQS event, deletes what succeeded
    and leaves the ``batchItemFailures`` to come back (after a growing delay) until the
    redrive policy moves them to the DLQ."""

    def __init__(
        self,
        sqs: Any,
        queue_name: str,
        handler: SqsHandler,
        *,
        region: str,
        wait_seconds: int,
        retry_delay_seconds: float = 5.0,
        function_name: str = "marketscope-market-data-refresh",
    ) -> None:
        self._sqs = sqs
        self._queue_name = queue_name
        self._handler = handler
        self._region = region
        self._wait = wait_seconds
        self._retry_delay = retry_delay_seconds
        self._function_name = function_name

    async def run(self, stop: asyncio.Event) -> None:
        queue: tuple[str, str] | None = None
        while not stop.is_set():
            try:
                queue = queue or await self._resolve()
                await self.poll_once(*queue)
            except AWS_ERRORS:
                logger.warning("refresh queue poll failed; retrying", exc_info=True)
                await _pause(stop, 2.0)

    async def _resolve(self) -> tuple[str, str]:
        url = (await self._sqs.get_queue_url(QueueName=self._queue_name))["QueueUrl"]
        attributes = await self._sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
        return str(url), str(attributes["Attributes"]["QueueArn"])

    async def poll_once(self, url: str, arn: str) -> int:
        response = await self._sqs.receive_message(
            QueueUrl=url,
            MaxNumberOfMessages=10,
            WaitTimeSeconds=self._wait,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        messages = response.get("Messages", [])
        if not messages:
            return 0
        try:
            result = await self._handler(
                sqs_event(messages, arn, self._region), InvocationContext(self._function_name)
            )
            failed = {item["itemIdentifier"] for item in result.get("batchItemFailures", [])}
        except Exception:
            # As Lambda does: an invocation that raises fails the whole batch.
            logger.exception("refresh handler raised; the batch will be retried")
            failed = {message["MessageId"] for message in messages}
        done = [m for m in messages if m["MessageId"] not in failed]
        if done:
            await self._sqs.delete_message_batch(
                QueueUrl=url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)
                ],
            )
        for message in messages:
            if message["MessageId"] in failed:
                count = int(message.get("Attributes", {}).get("ApproximateReceiveCount", "1"))
                delay = min(self._retry_delay * 2 ** (count - 1), 900.0)
                await self._sqs.change_message_visibility(
                    QueueUrl=url,
                    ReceiptHandle=message["ReceiptHandle"],
                    VisibilityTimeout=int(delay),
                )
        return len(messages)


class LiveRefreshLoop:
    """Every ``interval`` seconds: advance the replay clock (when replaying) and refresh."""

    def __init__(
        self,
        refresh: Callable[[str], Awaitable[object]],
        *,
        interval: float,
        advance: Callable[[], object] | None = None,
    ) -> None:
        self._refresh = refresh
        self._interval = interval
        self._advance = advance

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            await _pause(stop, self._interval)
            if stop.is_set():
                return
            if self._advance is not None:
                self._advance()
            try:
                await self._refresh("live")
            except Exception:
                logger.exception("live refresh failed; trying again next tick")
