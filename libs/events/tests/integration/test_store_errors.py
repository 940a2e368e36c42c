"""AWS errors the emulator really returns come out of the store as the library's own."""

from __future__ import annotations

import pytest

from marketscope_events import DynamoDBEventStore, EventStoreError
from marketscope_platform import AwsClients

from ..helpers import quote_event, unique

pytestmark = pytest.mark.integration


async def test_a_missing_table_is_an_event_store_error_not_a_client_error(
    aws: AwsClients,
) -> None:
    store = DynamoDBEventStore(await aws.client("dynamodb"), unique("no-such-table"))

    with pytest.raises(EventStoreError) as read:
        await store.read("Quote#AAPL")
    with pytest.raises(EventStoreError) as append:
        await store.append("Quote#AAPL", [quote_event()], expected_version=0)

    assert (read.value.stream_id, read.value.code) == ("Quote#AAPL", "ResourceNotFoundException")
    assert append.value.stream_id == "Quote#AAPL"
    assert append.value.code == "ResourceNotFoundException"
