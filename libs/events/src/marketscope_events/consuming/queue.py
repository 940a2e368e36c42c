"""The SQS side of a consumer: receive, extend, release, delete. Failures to change a
message's visibility or to delete it are logged, never raised: the queue's own timeout
and redelivery (with idempotent handling) make them safe to survive."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

if TYPE_CHECKING:
    from types_aiobotocore_sqs import SQSClient

# A received message as SQS returns it (``MessageId``, ``ReceiptHandle``, ``Body``,
# ``Attributes``, ``MessageAttributes``); the stubs' MessageTypeDef is one of these.
Message = Mapping[str, Any]
SQS_BATCH_LIMIT = 10

logger = logging.getLogger(__name__)


class ConsumerQueue:
    def __init__(self, sqs: SQSClient, queue_url: str) -> None:
        self._sqs = sqs
        self.url = queue_url

    async def receive(
        self, count: int, *, wait_seconds: int, visibility_timeout: int
    ) -> list[Message]:
        """Raises botocore's errors: the caller decides how to back off."""
        response = await self._sqs.receive_message(
            QueueUrl=self.url,
            MaxNumberOfMessages=count,
            WaitTimeSeconds=wait_seconds,
            VisibilityTimeout=visibility_timeout,
            # All: raw routes see SentTimestamp, SenderId, AWSTraceHeader as well.
            MessageSystemAttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        return [*response.get("Messages", [])]

    async def set_visibility(self, receipt_handle: str, seconds: int) -> None:
        try:
            await self._sqs.change_message_visibility(
                QueueUrl=self.url, ReceiptHandle=receipt_handle, VisibilityTimeout=seconds
            )
        except (ClientError, BotoCoreError):
            logger.warning(
                "could not change visibility; the queue's timeout applies", exc_info=True
            )

    async def release(self, messages: Sequence[Message]) -> None:
        """Make messages visible again at once, unhandled."""
        for start in range(0, len(messages), SQS_BATCH_LIMIT):
            chunk = messages[start : start + SQS_BATCH_LIMIT]
            try:
                await self._sqs.change_message_visibility_batch(
                    QueueUrl=self.url,
                    Entries=[
                        {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"], "VisibilityTimeout": 0}
                        for i, m in enumerate(chunk)
                    ],
                )
            except (ClientError, BotoCoreError):
                logger.warning("could not release messages; their timeout applies", exc_info=True)

    async def delete(self, messages: Sequence[Message]) -> None:
        for start in range(0, len(messages), SQS_BATCH_LIMIT):
            chunk = messages[start : start + SQS_BATCH_LIMIT]
            try:
                response = await self._sqs.delete_message_batch(
                    QueueUrl=self.url,
                    Entries=[
                        {"Id": str(index), "ReceiptHandle": message["ReceiptHandle"]}
                        for index, message in enumerate(chunk)
                    ],
                )
            except (ClientError, BotoCoreError):
                logger.exception("delete failed; the messages will be redelivered (idempotent)")
                continue
            for failure in response.get("Failed", []):
                logger.warning("delete of a handled message failed: %s", failure)
