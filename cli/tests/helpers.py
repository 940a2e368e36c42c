from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from typer.testing import CliRunner

from marketscope_cli.app import app
from marketscope_events import CATALOG, EventStore
from marketscope_events.catalog import QuoteUpdated

runner = CliRunner()


def invoke(*args: str) -> str:
    """The command's output; it must succeed."""
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


async def stored_quote(store: EventStore) -> str:
    """Append one QuoteUpdated to a fresh stream (not published); return the stream id."""
    symbol = "T" + uuid.uuid4().hex[:6].upper()
    stream = f"Quote#{symbol}"
    quote = QuoteUpdated(
        symbol=symbol,
        price=Decimal("10.5"),
        previous_price=None,
        change=None,
        change_percent=None,
        as_of=datetime.now(UTC),
        provider="replay",
    )
    await store.append(
        stream, [CATALOG.new_event(quote, subject=stream)], expected_version=0, publish=False
    )
    return stream


async def drain(sqs: Any, queue_url: str) -> list[str]:
    """Receive and delete whatever the queue holds; return the bodies."""
    bodies: list[str] = []
    while True:
        response = await sqs.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1
        )
        messages = response.get("Messages", [])
        if not messages:
            return bodies
        bodies.extend(m["Body"] for m in messages)
        for message in messages:
            await sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])


async def take(sqs: Any, queue_url: str, wanted: list[str], *, seconds: float = 20.0) -> list[str]:
    """Receive until every body of ``wanted`` has been seen; delete only those, and make
    the rest visible again at once. The queue is shared with the rest of the session,
    whose messages are not this test's to consume."""
    found: list[str] = []
    deadline = asyncio.get_running_loop().time() + seconds
    while sorted(found) != sorted(wanted) and asyncio.get_running_loop().time() < deadline:
        response = await sqs.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1, VisibilityTimeout=5
        )
        for message in response.get("Messages", []):
            if message["Body"] in wanted and message["Body"] not in found:
                found.append(message["Body"])
                await sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
            else:
                await sqs.change_message_visibility(
                    QueueUrl=queue_url,
                    ReceiptHandle=message["ReceiptHandle"],
                    VisibilityTimeout=0,
                )
    return found
