"""The same contracts against DynamoDB on the AWS backend, over HTTP."""

from __future__ import annotations

import pytest

from marketscope_events import DynamoDBEventStore, DynamoDBIdempotencyStore
from marketscope_platform import AwsClients

from .event_store_contract import EventStoreContract, MutableClock
from .idempotency_contract import IdempotencyContract
from .stream_repository_contract import StreamRepositoryContract

pytestmark = pytest.mark.integration


@pytest.fixture
def clock() -> MutableClock:
    return MutableClock()


class TestDynamoDBEventStore(EventStoreContract):
    @pytest.fixture
    async def store(self, aws: AwsClients, table: str, clock: MutableClock) -> DynamoDBEventStore:
        return DynamoDBEventStore(await aws.client("dynamodb"), table, clock=clock)


class TestDynamoDBIdempotency(IdempotencyContract):
    @pytest.fixture
    async def records(
        self, aws: AwsClients, table: str, clock: MutableClock
    ) -> DynamoDBIdempotencyStore:
        return DynamoDBIdempotencyStore(await aws.client("dynamodb"), table, clock=clock)


class TestDynamoDBStreamRepository(StreamRepositoryContract):
    @pytest.fixture
    async def store(self, aws: AwsClients, table: str, clock: MutableClock) -> DynamoDBEventStore:
        return DynamoDBEventStore(await aws.client("dynamodb"), table, clock=clock)
