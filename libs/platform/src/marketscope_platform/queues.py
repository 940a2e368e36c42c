"""The services' SQS queues as operators see them: depths, and dead-letter queues to look
into and move back to their source queue (the CLI's ``status`` and ``dlq``, the gateway's
ops API).

Redrive is receive / send / delete rather than StartMessageMoveTask: the emulator lacks
the latter, and the former is equally correct on AWS (a message is deleted from the DLQ
only after the source queue accepted it, so a failure midway duplicates, never loses).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from marketscope_events.catalog.registry import RESOURCE_PREFIX
from marketscope_events.consuming.queue import ConsumerQueue, Message
from marketscope_events.envelope import Envelope
from marketscope_events.errors import MalformedEnvelopeError

ProgressCallback = Callable[[int], None]
DEPTH_ATTRIBUTES = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]


class QueueNotFound(LookupError):
    def __init__(self, name: str) -> None:
        super().__init__(f"there is no queue named {name}")
        self.name = name


class RedriveRefused(RuntimeError):
    """The source queue refused some messages; they stay in the DLQ."""

    def __init__(self, failed: list[Any]) -> None:
        super().__init__(f"the source queue refused {len(failed)} message(s): {failed}")
        self.failed = failed


@dataclass(frozen=True)
class QueueDepth:
    name: str
    url: str
    visible: int
    in_flight: int

    @property
    def is_dlq(self) -> bool:
        return self.name.endswith("-dlq")


@dataclass(frozen=True)
class DeadLetter:
    message_id: str
    receive_count: int
    summary: str
    body: str


async def queue_depth(sqs: Any, url: str) -> QueueDepth:
    attributes = (await sqs.get_queue_attributes(QueueUrl=url, AttributeNames=DEPTH_ATTRIBUTES))[
        "Attributes"
    ]
    return QueueDepth(
        name=url.rsplit("/", 1)[-1],
        url=url,
        visible=int(attributes.get("ApproximateNumberOfMessages", 0)),
        in_flight=int(attributes.get("ApproximateNumberOfMessagesNotVisible", 0)),
    )


async def queue_depths(sqs: Any, prefix: str = RESOURCE_PREFIX) -> list[QueueDepth]:
    """Every queue whose name starts with ``prefix``, by name."""
    urls: list[str] = []
    paginator = sqs.get_paginator("list_queues")
    async for page in paginator.paginate(QueueNamePrefix=prefix):
        urls.extend(page.get("QueueUrls", []))
    return [await queue_depth(sqs, url) for url in sorted(urls)]


async def queue_url(sqs: Any, name: str) -> str:
    """The queue's URL, or `QueueNotFound`."""
    try:
        return str((await sqs.get_queue_url(QueueName=name))["QueueUrl"])
    except sqs.exceptions.QueueDoesNotExist as exc:
        raise QueueNotFound(name) from exc


def describe(body: str) -> str:
    """What a dead message is, or why it could not be read as an event."""
    try:
        envelope = Envelope.from_json(body)
    except MalformedEnvelopeError as exc:
        return f"malformed: {exc.reason}"
    return f"{envelope.type} id={envelope.id} subject={envelope.subject or '-'}"


async def peek(sqs: Any, dlq_url: str, limit: int) -> list[DeadLetter]:
    """Read up to ``limit`` messages and leave them visible again at once."""
    seen: dict[str, DeadLetter] = {}
    peeked: list[Message] = []
    while len(seen) < limit:
        response = await sqs.receive_message(
            QueueUrl=dlq_url,
            MaxNumberOfMessages=min(10, limit - len(seen)),
            VisibilityTimeout=5,
            WaitTimeSeconds=1,
            MessageSystemAttributeNames=["ApproximateReceiveCount"],
        )
        messages = response.get("Messages", [])
        fresh = [m for m in messages if m["MessageId"] not in seen]
        if not fresh:
            break
        for message in fresh:
            peeked.append(message)
            seen[message["MessageId"]] = DeadLetter(
                message_id=message["MessageId"],
                receive_count=int(message["Attributes"].get("ApproximateReceiveCount", 0)),
                summary=describe(message["Body"]),
                body=message["Body"],
            )
    # Make them visible again now, so a redrive right after a look finds them all.
    await ConsumerQueue(sqs, dlq_url).release(peeked)
    return list(seen.values())


async def redrive(
    sqs: Any, dlq_url: str, target_url: str, *, on_moved: ProgressCallback | None = None
) -> int:
    """Move every message of ``dlq_url`` to ``target_url``; the number moved. Raises
    `RedriveRefused` when the target refuses some (those stay in the DLQ)."""
    moved = 0
    while True:
        response = await sqs.receive_message(
            QueueUrl=dlq_url,
            MaxNumberOfMessages=10,
            VisibilityTimeout=60,
            # Short polls may sample an empty server while messages wait: poll long.
            WaitTimeSeconds=1,
            MessageAttributeNames=["All"],
        )
        messages = response.get("Messages", [])
        if not messages:
            return moved
        sent = await sqs.send_message_batch(
            QueueUrl=target_url,
            Entries=[
                {
                    "Id": str(index),
                    "MessageBody": message["Body"],
                    "MessageAttributes": message.get("MessageAttributes", {}),
                }
                for index, message in enumerate(messages)
            ],
        )
        delivered = [messages[int(entry["Id"])] for entry in sent.get("Successful", [])]
        if delivered:
            await sqs.delete_message_batch(
                QueueUrl=dlq_url,
                Entries=[
                    {"Id": str(index), "ReceiptHandle": message["ReceiptHandle"]}
                    for index, message in enumerate(delivered)
                ],
            )
        moved += len(delivered)
        if on_moved is not None:
            on_moved(len(delivered))
        if len(delivered) < len(messages):
            raise RedriveRefused(sent.get("Failed", []))
