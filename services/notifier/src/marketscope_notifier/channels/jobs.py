"""Delivery jobs: one SQS message on the notifier's own queue per attempt to come, so a
retry waits in SQS (DelaySeconds, at most 15 min per hop; a longer wait is carried by
sending it on again with what remains), never in memory: a restart loses no retry.

A job is not a CloudEvent: the consumer's raw route ``delivery`` takes it, with the job
id as its idempotency key (a second copy of a job does nothing).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Final, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, ValidationError

from marketscope_events import RawMessage, TerminalHandlerError
from marketscope_notifier.channels.records import Trigger
from marketscope_notifier.channels.schedule import sqs_delay

if TYPE_CHECKING:
    from types_aiobotocore_sqs import SQSClient

JOB_TYPE: Final = "marketscope.notifier.delivery"


class DeliveryJob(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    type: Literal["marketscope.notifier.delivery"] = JOB_TYPE
    owner: str
    channel_id: str
    delivery_id: str
    attempt: int  # the attempt this job makes (1-based, per trigger)
    trigger: Trigger
    due_at: AwareDatetime
    hop: int = 0  # how many times a long wait was sent on

    @property
    def job_id(self) -> str:
        return f"{self.channel_id}:{self.delivery_id}:{self.trigger}:{self.attempt}:{self.hop}"

    def next_hop(self) -> DeliveryJob:
        return self.model_copy(update={"hop": self.hop + 1})


def is_job(message: RawMessage) -> bool:
    return isinstance(message.body, dict) and message.body.get("type") == JOB_TYPE


def job_of(message: RawMessage) -> DeliveryJob:
    """The job a message holds (a malformed one is terminal: it goes to the DLQ)."""
    try:
        return DeliveryJob.model_validate(message.body)
    except ValidationError as exc:
        raise TerminalHandlerError(f"not a delivery job: {exc}") from exc


def job_key(message: RawMessage) -> str:
    return job_of(message).job_id


class JobQueue:
    """Sends jobs to the notifier's own queue, delayed until they are due (or 15 min)."""

    def __init__(self, sqs: SQSClient, queue_name: str) -> None:
        self._sqs = sqs
        self._queue_name = queue_name
        self._url: str | None = None

    async def _queue_url(self) -> str:
        if self._url is None:
            self._url = (await self._sqs.get_queue_url(QueueName=self._queue_name))["QueueUrl"]
        return self._url

    async def send(self, job: DeliveryJob, *, now: datetime) -> None:
        await self._sqs.send_message(
            QueueUrl=await self._queue_url(),
            MessageBody=job.model_dump_json(),
            DelaySeconds=sqs_delay((job.due_at - now).total_seconds()),
        )
