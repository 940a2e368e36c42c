"""BatchWriteItem until every request is processed (or the retries run out)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError
from tenacity import (
    AsyncRetrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_random_exponential,
)

from marketscope_events.errors import StoreUnavailableError

if TYPE_CHECKING:
    from types_aiobotocore_dynamodb import DynamoDBClient
    from types_aiobotocore_dynamodb.type_defs import WriteRequestUnionTypeDef

# BatchWriteItem takes at most 25 requests; what it leaves unprocessed is sent again.
BATCH_WRITE_LIMIT = 25
UNPROCESSED_ATTEMPTS = 5


class _UnprocessedWritesError(Exception):
    def __init__(self, left: int, what: str) -> None:
        super().__init__(f"BatchWriteItem left {left} {what} unprocessed")


async def write_all(
    dynamodb: DynamoDBClient,
    table: str,
    requests: Sequence[WriteRequestUnionTypeDef],
    *,
    what: str,
) -> None:
    """Send ``requests`` (puts and deletes, no two on one key) in batches of 25; raise
    `StoreUnavailableError` when DynamoDB is out of reach or keeps some unprocessed."""
    for start in range(0, len(requests), BATCH_WRITE_LIMIT):
        await _write_batch(dynamodb, table, requests[start : start + BATCH_WRITE_LIMIT], what)


async def _write_batch(
    dynamodb: DynamoDBClient,
    table: str,
    requests: Sequence[WriteRequestUnionTypeDef],
    what: str,
) -> None:
    pending: Any = {table: list(requests)}
    try:
        async for attempt in AsyncRetrying(
            retry=retry_if_exception_type(_UnprocessedWritesError),
            stop=stop_after_attempt(UNPROCESSED_ATTEMPTS),
            wait=wait_random_exponential(multiplier=0.05, max=1.0),
            reraise=True,
        ):
            with attempt:
                response = await dynamodb.batch_write_item(RequestItems=pending)
                pending = response.get("UnprocessedItems") or {}
                if pending:
                    raise _UnprocessedWritesError(sum(len(v) for v in pending.values()), what)
    except (ClientError, BotoCoreError, _UnprocessedWritesError) as exc:
        raise StoreUnavailableError(str(exc)) from exc
