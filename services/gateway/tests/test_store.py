"""The gateway's table on the emulator: unique emails, conditional rotation of sessions,
expired items ignored, and AWS failures as the gateway's 503 (never a raw botocore error)."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator

import pytest
from aiobotocore.config import AioConfig
from aiobotocore.session import get_session

from marketscope_gateway.errors import EmailTaken, StoreUnavailable, UserNotFound
from marketscope_gateway.settings import SERVICE
from marketscope_gateway.store import GatewayStore, UserRecord
from marketscope_platform.aws import EMULATOR_CREDENTIALS, AwsClients
from marketscope_servicekit import DependencyUnavailable
from marketscope_servicekit.testing import unreachable_aws

pytestmark = pytest.mark.integration


def user(email: str | None = None) -> UserRecord:
    return UserRecord(
        user_id=uuid.uuid4().hex,
        email=email or f"{uuid.uuid4().hex[:12]}@example.com",
        password_hash="argon2-hash",
        roles=frozenset({"user"}),
        created_at=int(time.time()),
    )


@pytest.fixture
async def store(provisioned: str, aws: AwsClients) -> GatewayStore:
    return GatewayStore(await aws.client("dynamodb"), SERVICE.table)


@pytest.fixture
async def unreachable_store() -> AsyncIterator[GatewayStore]:
    # One attempt, no retries: the failure is the point, not how patiently it is retried.
    config = AioConfig(retries={"max_attempts": 1}, connect_timeout=1, read_timeout=1)
    endpoint = unreachable_aws().endpoint_url
    creator = get_session().create_client(
        "dynamodb",
        region_name="us-east-1",
        endpoint_url=endpoint,
        config=config,
        **EMULATOR_CREDENTIALS,
    )
    async with creator as dynamodb:
        yield GatewayStore(dynamodb, SERVICE.table)


async def test_an_email_is_held_by_one_account(store: GatewayStore) -> None:
    first = user()
    await store.create_user(first)
    with pytest.raises(EmailTaken):
        await store.create_user(user(first.email))
    assert await store.find_user_by_email(first.email) == first


async def test_roles_of_an_unknown_user_cannot_be_set(store: GatewayStore) -> None:
    with pytest.raises(UserNotFound):
        await store.set_roles(uuid.uuid4().hex, frozenset({"user", "admin"}))


async def test_a_generation_advances_once(store: GatewayStore) -> None:
    family_id, owner = uuid.uuid4().hex, uuid.uuid4().hex
    expires_at = int(time.time()) + 3600
    await store.create_family(family_id, owner, expires_at)
    assert await store.advance_family(family_id, 1, expires_at)
    assert not await store.advance_family(family_id, 1, expires_at)  # the same token again
    await store.revoke_family(family_id)
    family = await store.get_family(family_id)
    assert family is not None
    assert (family.generation, family.revoked) == (2, True)
    assert not await store.advance_family(family_id, 2, expires_at)
    await store.revoke_family(uuid.uuid4().hex)  # nothing to revoke: not an error


async def test_expired_items_are_not_read(provisioned: str, aws: AwsClients) -> None:
    dynamodb = await aws.client("dynamodb")
    now = time.time()
    family_id = uuid.uuid4().hex
    await GatewayStore(dynamodb, SERVICE.table).create_family(family_id, "u", int(now) + 60)
    later = GatewayStore(dynamodb, SERVICE.table, clock=lambda: now + 61)
    assert await later.get_family(family_id) is None


async def test_a_missing_table_is_store_unavailable(provisioned: str, aws: AwsClients) -> None:
    missing = GatewayStore(await aws.client("dynamodb"), f"missing-{uuid.uuid4().hex[:8]}")
    with pytest.raises(StoreUnavailable) as raised:
        await missing.get_user("nobody")
    assert "ResourceNotFoundException" in str(raised.value)


async def test_an_unreachable_endpoint_is_503_not_500(unreachable_store: GatewayStore) -> None:
    with pytest.raises(StoreUnavailable) as raised:
        await unreachable_store.get_user("nobody")
    assert isinstance(raised.value, DependencyUnavailable)
    assert raised.value.status == 503
    assert raised.value.headers["Retry-After"] == "5"
    assert "EndpointConnectionError" in str(raised.value)
    with pytest.raises(StoreUnavailable):
        await unreachable_store.increment(
            "login#address#10.0.0.1", 1, at=time.time(), expires_at=int(time.time()) + 60
        )
