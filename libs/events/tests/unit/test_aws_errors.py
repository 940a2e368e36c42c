"""Reading botocore errors, and the event store's translation of them."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from marketscope_events import (
    ConcurrencyError,
    DynamoDBEventStore,
    DynamoDBIdempotencyStore,
    EventsError,
    EventStoreError,
)
from marketscope_events.aws_errors import cancellation_codes, error_code
from marketscope_events.errors import StoreUnavailableError

from ..helpers import quote_event


def client_error(code: str | None, *reasons: str, operation: str = "Query") -> ClientError:
    response: dict[str, Any] = {} if code is None else {"Error": {"Code": code, "Message": "m"}}
    if reasons:
        response["CancellationReasons"] = [{"Code": reason} for reason in reasons]
    return ClientError(response, operation)  # type: ignore[arg-type]


def test_error_code_is_the_responses_code_or_empty() -> None:
    assert error_code(client_error("ConditionalCheckFailedException")) == (
        "ConditionalCheckFailedException"
    )
    assert error_code(client_error(None)) == ""


def test_cancellation_codes_follow_the_transaction_items() -> None:
    cancelled = client_error("TransactionCanceledException", "None", "ConditionalCheckFailed")
    assert cancellation_codes(cancelled) == ["None", "ConditionalCheckFailed"]
    assert cancellation_codes(client_error("ThrottlingException")) == []


class RaisingDynamoDB:
    """Raises ``error`` from every call, as a DynamoDB client would."""

    def __init__(self, error: Exception, *, get_item_error: Exception | None = None) -> None:
        self.error = error
        self.get_item_error = get_item_error

    def __getattr__(self, operation: str) -> Any:
        async def call(**kwargs: Any) -> Any:
            if operation == "get_item" and self.get_item_error is not None:
                raise self.get_item_error
            raise self.error

        return call


@pytest.mark.parametrize(
    ("reasons", "expected"),
    [
        (("None", "ConditionalCheckFailed"), ConcurrencyError),
        (("TransactionConflict", "None"), ConcurrencyError),
        ((), ConcurrencyError),  # no reasons given: as before, a lost race
        (("None", "ThrottlingError"), StoreUnavailableError),
        (("None", "ValidationError"), EventStoreError),
    ],
)
async def test_a_cancelled_append_is_told_apart_by_its_reasons(
    reasons: tuple[str, ...], expected: type[EventsError]
) -> None:
    error = client_error("TransactionCanceledException", *reasons, operation="TransactWriteItems")
    store = DynamoDBEventStore(RaisingDynamoDB(error), "t")  # type: ignore[arg-type]

    with pytest.raises(expected) as caught:
        await store.append("Quote#AAPL", [quote_event()], expected_version=1)

    assert caught.value.__cause__ is error
    if isinstance(caught.value, EventStoreError):
        assert caught.value.stream_id == "Quote#AAPL"
        assert caught.value.code == "TransactionCanceledException[ValidationError]"


async def test_unknown_codes_become_event_store_errors_naming_stream_and_code() -> None:
    error = client_error("ValidationException")
    store = DynamoDBEventStore(RaisingDynamoDB(error), "t")  # type: ignore[arg-type]

    with pytest.raises(EventStoreError) as caught:
        await store.read("Quote#AAPL")

    assert (caught.value.stream_id, caught.value.code) == ("Quote#AAPL", "ValidationException")
    assert caught.value.__cause__ is error
    with pytest.raises(EventStoreError) as on_outbox:
        await store.pending_publication(10)
    assert on_outbox.value.stream_id is None


async def test_throttling_and_connection_errors_are_store_unavailable() -> None:
    throttled = DynamoDBEventStore(
        RaisingDynamoDB(client_error("ProvisionedThroughputExceededException")),  # type: ignore[arg-type]
        "t",
    )
    with pytest.raises(StoreUnavailableError):
        await throttled.current_version("Quote#AAPL")
    unreachable = EndpointConnectionError(endpoint_url="http://127.0.0.1:1")
    offline = DynamoDBEventStore(RaisingDynamoDB(unreachable), "t")  # type: ignore[arg-type]
    for call in (
        offline.read("Quote#AAPL"),
        offline.append("Quote#AAPL", [quote_event()], expected_version=0),
        offline.list_streams("Quote#"),
    ):
        with pytest.raises(StoreUnavailableError) as caught:
            await call
        assert caught.value.__cause__ is unreachable


async def test_idempotency_store_wraps_the_read_after_a_lost_claim() -> None:
    lost = client_error("ConditionalCheckFailedException", operation="PutItem")
    unreachable = EndpointConnectionError(endpoint_url="http://127.0.0.1:1")
    records = DynamoDBIdempotencyStore(
        RaisingDynamoDB(lost, get_item_error=unreachable),  # type: ignore[arg-type]
        "t",
    )
    with pytest.raises(StoreUnavailableError) as caught:
        await records.begin("chat", "e1", claim_for=timedelta(minutes=1))
    assert caught.value.__cause__ is unreachable
