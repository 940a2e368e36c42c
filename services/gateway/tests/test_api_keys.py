"""Personal API keys: created once and shown once, listed without their secret, stored
as a digest only, usable as a bearer credential on the REST API (with the same per-user
rate limit), refused once revoked, another user's not found, the cap per user, and what
a key may not do (manage keys, admin routes, the WebSocket). The resolver's cache and
its write-at-most-once-a-minute use bookkeeping run on a clock of their own."""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import uuid

import pytest
from websockets.asyncio.client import connect

from marketscope_gateway.auth.api_keys import MAX_KEYS_PER_USER, ApiKeys
from marketscope_gateway.errors import InvalidToken
from marketscope_gateway.settings import SERVICE
from marketscope_gateway.store import ApiKeyRecord, GatewayStore
from marketscope_platform.aws import AwsClients

from .conftest import MakeGateway
from .fakes import FakeMarketData
from .wsclient import next_message, ws_url

pytestmark = pytest.mark.integration
KEY_FORMAT = re.compile(r"^msk_[0-9a-f]{8}_[A-Za-z0-9_-]{43}$")


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def test_a_key_is_shown_once_listed_without_its_secret_and_revoked(
    make_gateway: MakeGateway,
) -> None:
    market_data = FakeMarketData()
    async with make_gateway(market_data=market_data) as gw:
        _, auth, tokens = await gw.user()
        user_id = tokens["user"]["user_id"]
        created = await gw.api_key(auth, name="notebook")
        key = created["key"]
        assert KEY_FORMAT.match(key), key
        assert created["name"] == "notebook"
        assert created["prefix"] == f"msk_{created['id']}"
        assert key.startswith(created["prefix"] + "_")

        listed = await gw.client.get("/api/v1/api-keys", headers=auth)
        assert listed.status_code == 200
        [entry] = listed.json()
        assert set(entry) == {"id", "name", "prefix", "created_at", "last_used_at"}
        assert entry["id"] == created["id"]
        assert entry["last_used_at"] is None
        secret = key.removeprefix(created["prefix"] + "_")
        assert secret not in listed.text
        assert hashlib.sha256(key.encode()).hexdigest() not in listed.text

        # Wherever an access token goes, the key goes: as its user, with the user role.
        me = await gw.client.get("/api/v1/me", headers=bearer(key))
        assert me.status_code == 200, me.text
        assert me.json()["user_id"] == user_id
        quote = await gw.client.get("/api/v1/quotes/AAPL", headers=bearer(key))
        assert quote.status_code == 200
        assert market_data.callers[-1].user_id == user_id
        assert market_data.callers[-1].roles == frozenset({"user"})
        [used] = (await gw.client.get("/api/v1/api-keys", headers=auth)).json()
        assert used["last_used_at"] is not None

        revoked = await gw.client.delete(f"/api/v1/api-keys/{created['id']}", headers=auth)
        assert revoked.status_code == 204
        refused = await gw.client.get("/api/v1/me", headers=bearer(key))
        assert refused.status_code == 401
        assert refused.headers["content-type"] == "application/problem+json"
        assert (await gw.client.get("/api/v1/api-keys", headers=auth)).json() == []
        again = await gw.client.delete(f"/api/v1/api-keys/{created['id']}", headers=auth)
        assert again.status_code == 404


async def test_unknown_and_malformed_keys_are_401(make_gateway: MakeGateway) -> None:
    async with make_gateway() as gw:
        _, auth, _ = await gw.user()
        key = (await gw.api_key(auth))["key"]
        wrong_secret = key[:-4] + ("aaaa" if not key.endswith("aaaa") else "bbbb")
        for credential in (wrong_secret, "msk_00000000_" + "x" * 43, "msk_nope", key + "x"):
            response = await gw.client.get("/api/v1/quotes/AAPL", headers=bearer(credential))
            assert response.status_code == 401, credential
            assert response.headers["content-type"] == "application/problem+json"
        assert (await gw.client.get("/api/v1/me", headers=bearer(key))).status_code == 200


async def test_another_users_key_is_not_found_and_keeps_working(
    make_gateway: MakeGateway,
) -> None:
    async with make_gateway() as gw:
        _, auth_a, _ = await gw.user()
        _, auth_b, _ = await gw.user()
        a_key = await gw.api_key(auth_a)
        b_key = await gw.api_key(auth_b)
        response = await gw.client.delete(f"/api/v1/api-keys/{a_key['id']}", headers=auth_b)
        assert response.status_code == 404
        assert response.headers["content-type"] == "application/problem+json"
        assert (await gw.client.get("/api/v1/me", headers=bearer(a_key["key"]))).status_code == 200
        b_list = (await gw.client.get("/api/v1/api-keys", headers=auth_b)).json()
        assert [entry["id"] for entry in b_list] == [b_key["id"]]


async def test_the_table_holds_a_digest_of_the_key_never_the_key(
    make_gateway: MakeGateway, aws: AwsClients
) -> None:
    async with make_gateway() as gw:
        _, auth, tokens = await gw.user()
        created = await gw.api_key(auth)
    dynamodb = await aws.client("dynamodb")
    key = created["key"]
    secret = key.split("_", 2)[2]
    item = (
        await dynamodb.get_item(
            TableName=SERVICE.table,
            Key={"pk": {"S": f"ApiKey#{created['id']}"}, "sk": {"N": "0"}},
            ConsistentRead=True,
        )
    )["Item"]
    stored = json.dumps(item)
    assert key not in stored
    assert secret not in stored
    assert item["key_sha256"]["S"] == hashlib.sha256(key.encode()).hexdigest()
    assert item["user_id"]["S"] == tokens["user"]["user_id"]
    listed = (
        await dynamodb.get_item(
            TableName=SERVICE.table,
            Key={"pk": {"S": f"UserApiKeys#{tokens['user']['user_id']}"}, "sk": {"N": "0"}},
            ConsistentRead=True,
        )
    )["Item"]
    assert listed["key_ids"]["SS"] == [created["id"]]


async def test_a_user_holds_at_most_twenty_keys(make_gateway: MakeGateway) -> None:
    async with make_gateway() as gw:
        _, auth, _ = await gw.user()
        # Concurrently: the cap holds even for creations that race each other.
        responses = await asyncio.gather(
            *(
                gw.client.post("/api/v1/api-keys", json={"name": f"k{i}"}, headers=auth)
                for i in range(MAX_KEYS_PER_USER + 3)
            )
        )
        statuses = sorted(response.status_code for response in responses)
        assert statuses == [201] * MAX_KEYS_PER_USER + [409] * 3
        refused = next(response for response in responses if response.status_code == 409)
        assert refused.json()["type"] == "urn:marketscope:problem:too-many-api-keys"
        assert refused.json()["limit"] == MAX_KEYS_PER_USER
        listed = (await gw.client.get("/api/v1/api-keys", headers=auth)).json()
        assert len(listed) == MAX_KEYS_PER_USER
        await gw.client.delete(f"/api/v1/api-keys/{listed[0]['id']}", headers=auth)
        assert (
            await gw.client.post("/api/v1/api-keys", json={"name": "again"}, headers=auth)
        ).status_code == 201


async def test_a_key_counts_against_its_users_rate_limit(make_gateway: MakeGateway) -> None:
    async with make_gateway(rate_limit_per_user="4/minute") as gw:
        _, auth, _ = await gw.user()
        _, other_auth, _ = await gw.user()
        key = (await gw.api_key(auth))["key"]  # the first of the user's four
        statuses = [
            (await gw.client.get("/api/v1/quotes/AAPL", headers=bearer(key))).status_code
            for _ in range(4)
        ]
        assert statuses == [200, 200, 200, 429]
        limited = await gw.client.get("/api/v1/quotes/AAPL", headers=bearer(key))
        assert limited.status_code == 429
        assert limited.headers["content-type"] == "application/problem+json"
        assert int(limited.headers["Retry-After"]) >= 1
        # One budget per user, whichever credential it comes with.
        assert (await gw.client.get("/api/v1/me", headers=auth)).status_code == 429
        assert (await gw.client.get("/api/v1/me", headers=other_auth)).status_code == 200


async def test_a_key_cannot_manage_keys_nor_act_as_admin(make_gateway: MakeGateway) -> None:
    admin_email = f"admin-{uuid.uuid4().hex[:12]}@example.com"
    async with make_gateway(admin_emails=[admin_email]) as gw:
        _, user_id = await gw.register()
        await gw.register(admin_email)
        tokens = (await gw.login(admin_email)).json()
        assert tokens["user"]["roles"] == ["admin", "user"]
        auth = {"Authorization": f"Bearer {tokens['access_token']}"}
        created = await gw.api_key(auth)
        key = bearer(created["key"])
        for method, path, body in (
            ("POST", "/api/v1/api-keys", {"name": "minted"}),
            ("GET", "/api/v1/api-keys", None),
            ("DELETE", f"/api/v1/api-keys/{created['id']}", None),
            ("PUT", f"/api/v1/admin/users/{user_id}/roles/admin", None),
        ):
            response = await gw.client.request(method, path, json=body, headers=key)
            assert response.status_code == 403, (method, path, response.text)
            assert response.headers["content-type"] == "application/problem+json"
        # The admin's access token does what its key may not.
        granted = await gw.client.put(f"/api/v1/admin/users/{user_id}/roles/admin", headers=auth)
        assert granted.status_code == 200
        assert len((await gw.client.get("/api/v1/api-keys", headers=auth)).json()) == 1


async def test_the_websocket_takes_no_api_key(make_served_gateway: MakeGateway) -> None:
    async with make_served_gateway() as gw:
        _, auth, _ = await gw.user()
        key = (await gw.api_key(auth))["key"]
        async with connect(ws_url(gw), additional_headers=bearer(key)) as ws:
            assert (await next_message(ws))["code"] == "unauthenticated"
            await ws.wait_closed()
        assert ws.close_code == 4401


class CountingStore(GatewayStore):
    """The gateway's table, counting the reads of keys and the writes of their use."""

    reads = 0
    touches = 0

    async def get_api_key(self, key_id: str) -> ApiKeyRecord | None:
        self.reads += 1
        return await super().get_api_key(key_id)

    async def touch_api_key(self, key_id: str, at: int, *, unless_since: int) -> bool:
        self.touches += 1
        return await super().touch_api_key(key_id, at, unless_since=unless_since)


class Clock:
    def __init__(self) -> None:
        self.now = 1_900_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def store(provisioned: str, aws: AwsClients) -> CountingStore:
    return CountingStore(await aws.client("dynamodb"), SERVICE.table)


async def test_a_keys_use_is_written_at_most_once_a_minute(store: CountingStore) -> None:
    clock = Clock()
    keys = ApiKeys(store, clock=clock, cache_seconds=5)
    issued = await keys.create("user-touch", "t@example.com", "script")
    for _ in range(10):
        await keys.resolve(issued.key)
    assert (store.reads, store.touches) == (1, 1)  # cached, and written once
    first = await store.get_api_key(issued.record.key_id)
    assert first is not None
    assert first.last_used_at == int(clock.now)
    clock.now += 30  # the cache lapsed, the minute has not
    await keys.resolve(issued.key)
    assert store.touches == 1
    clock.now += 31
    await keys.resolve(issued.key)
    assert store.touches == 2
    later = await store.get_api_key(issued.record.key_id)
    assert later is not None
    assert later.last_used_at == int(clock.now)
    # Another instance that just read the key writes nothing within the minute either.
    other = ApiKeys(store, clock=clock)
    await other.resolve(issued.key)
    assert store.touches == 2


async def test_a_key_revoked_elsewhere_stops_once_the_cache_lapses(store: CountingStore) -> None:
    clock = Clock()
    here, elsewhere = ApiKeys(store, clock=clock), ApiKeys(store, clock=clock)
    issued = await here.create("user-revoke", "r@example.com", "script")
    claims = await here.resolve(issued.key)
    assert (claims.user_id, claims.api_key_id) == ("user-revoke", issued.record.key_id)
    await elsewhere.resolve(issued.key)
    await elsewhere.revoke("user-revoke", issued.record.key_id)
    with pytest.raises(InvalidToken):
        await elsewhere.resolve(issued.key)  # at once where it was revoked
    await here.resolve(issued.key)  # from the cache, for a few seconds more
    clock.now += 6
    with pytest.raises(InvalidToken):
        await here.resolve(issued.key)
