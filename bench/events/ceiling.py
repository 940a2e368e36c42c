"""Phase 1, the ceiling: what the emulator itself can move through one SQS queue."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

from params import SQS_BATCH, Params
from quotes import quote_event
from report import progress
from stats import Usage, UsageMeter
from wiring import Aws, unique

from marketscope_events import Envelope
from marketscope_events.publishing import message_attributes
from marketscope_events.subscriptions import ensure_queue


@dataclass(frozen=True)
class CeilingRun:
    workers: int
    sent: int
    deleted: int
    seconds: float
    usage: Usage

    @property
    def messages_per_s(self) -> float:
        # A message moto handed out twice is deleted twice: count each sent one once.
        return min(self.deleted, self.sent) / self.seconds

    def as_dict(self) -> dict[str, Any]:
        return {
            "workers": self.workers,
            "messages_sent": self.sent,
            "messages_deleted": self.deleted,
            "seconds": self.seconds,
            "messages_per_s": self.messages_per_s,
            "per_message": self.usage.per(min(self.deleted, self.sent)),
            "usage": self.usage.as_dict(),
        }


@dataclass
class CycleState:
    unsent: int
    sent: int = 0
    deleted: int = 0

    def take_batch(self) -> int:
        count = min(SQS_BATCH, self.unsent)
        self.unsent -= count
        return count


async def receive_and_delete(sqs: Any, queue_url: str, wait_seconds: int) -> int:
    """One receive of up to 10, asked as the consumer asks, then one batch delete.
    Returns how many messages the delete removed."""
    response = await sqs.receive_message(
        QueueUrl=queue_url,
        MaxNumberOfMessages=SQS_BATCH,
        WaitTimeSeconds=wait_seconds,
        VisibilityTimeout=30,
        MessageSystemAttributeNames=["ApproximateReceiveCount"],
        MessageAttributeNames=["All"],
    )
    messages = response.get("Messages", [])
    if not messages:
        return 0
    entries = [
        {"Id": str(index), "ReceiptHandle": message["ReceiptHandle"]}
        for index, message in enumerate(messages)
    ]
    deleted = await sqs.delete_message_batch(QueueUrl=queue_url, Entries=entries)
    return len(deleted.get("Successful", []))


async def cycle_worker(sqs: Any, queue_url: str, state: CycleState, sample: Envelope) -> None:
    """Send a batch of 10, then receive and delete until as many are gone (or the queue is
    empty: another worker took them), so the queue holds at most about 10 messages per
    worker (moto's cost per message grows with depth). Returns once nothing is left to
    send and a receive finds the queue empty."""
    body, attributes = sample.to_json(), message_attributes(sample)
    owed = 0  # sent by this worker minus deleted by it; other workers may take its messages
    while True:
        batch = state.take_batch()
        if batch:
            entries = [
                {"Id": str(index), "MessageBody": body, "MessageAttributes": attributes}
                for index in range(batch)
            ]
            await sqs.send_message_batch(QueueUrl=queue_url, Entries=entries)
            state.sent += batch
            owed += batch
        while True:
            deleted = await receive_and_delete(sqs, queue_url, 1 if batch else 0)
            state.deleted += deleted
            owed -= deleted
            if deleted == 0 and not batch:
                return
            if deleted == 0 or owed <= 0:
                break


async def ceiling_run(aws: Aws, meter: UsageMeter, workers: int, messages: int) -> CeilingRun:
    queue = await ensure_queue(aws.sqs, unique("bench-ceiling"))
    state = CycleState(unsent=messages)
    sample = quote_event("CEIL", 0)  # the pipeline's message body and attributes
    try:
        with meter.measure() as usage:
            start = time.perf_counter()
            await asyncio.gather(
                *(cycle_worker(aws.sqs, queue.url, state, sample) for _ in range(workers))
            )
            seconds = time.perf_counter() - start
    finally:
        await aws.sqs.delete_queue(QueueUrl=queue.url)
    return CeilingRun(workers, state.sent, state.deleted, seconds, usage[0])


async def run_ceiling(aws: Aws, meter: UsageMeter, params: Params) -> list[CeilingRun]:
    runs = []
    for workers in params.ceiling_workers:
        run = await ceiling_run(aws, meter, workers, params.ceiling_messages)
        progress(
            f"{workers} worker(s): {run.sent} sent, {run.deleted} deleted in "
            f"{run.seconds:.1f} s = {run.messages_per_s:.0f} msg/s"
        )
        runs.append(run)
    return runs
