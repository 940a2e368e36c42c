"""Dead-letter queues: look inside, and move messages back to their source queue.

Redrive is receive / send / delete rather than StartMessageMoveTask: the emulator lacks
the latter, and the former is equally correct on AWS (a message is deleted from the DLQ
only after the source queue accepted it, so a failure midway duplicates, never loses).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from marketscope_cli.errors import CliError
from marketscope_events.consuming.queue import ConsumerQueue, Message
from marketscope_events.envelope import Envelope
from marketscope_events.errors import MalformedEnvelopeError

ProgressCallback = Callable[[int], None]


@dataclass(frozen=True)
class DeadLetter:
    message_id: str
    receive_count: int
    summary: str
    body: str


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
            failed = sent.get("Failed", [])
            raise CliError(f"the source queue refused {len(failed)} message(s): {failed}")
