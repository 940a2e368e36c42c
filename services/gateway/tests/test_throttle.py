"""Login and registration throttling through the gateway, on the emulator's table: one
address's failures never lock the owner out from another; the failing pair is refused
strictly, even in a burst; account-wide delays grow; registrations are limited per address."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest

from marketscope_gateway.auth.throttle import FixedWindows, LoginBackoff

from .conftest import PASSWORD, MakeGateway, RunningGateway, random_ip

pytestmark = pytest.mark.integration

WRONG = "not the password at all"
# Counters live in fixed windows aligned to the clock (the login window's 900 s, the
# registration window's 600 s): a test that counts starts with a minute of its windows
# left, or a boundary in the middle of it would start the count again.
WINDOWS_SECONDS = (900, 600)
MARGIN_SECONDS = 60.0


@pytest.fixture(autouse=True)
async def away_from_a_window_boundary() -> None:
    for seconds in WINDOWS_SECONDS:
        left = FixedWindows(seconds, time.time).current().seconds_left
        if left < MARGIN_SECONDS:
            await asyncio.sleep(left + 0.5)


@asynccontextmanager
async def client_at(gw: RunningGateway, address: str) -> AsyncIterator[httpx.AsyncClient]:
    """Another client of the same gateway, seen coming from ``address``."""
    transport = httpx.ASGITransport(app=gw.app, client=(address, 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://gw") as client:
        yield client


async def login(client: httpx.AsyncClient, email: str, password: str = PASSWORD) -> httpx.Response:
    return await client.post("/api/v1/auth/login", json={"email": email, "password": password})


def assert_throttled(response: httpx.Response, *, at_most: int) -> int:
    assert response.status_code == 429, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"].endswith("login-throttled")
    retry_after = int(response.headers["Retry-After"])
    assert 0 < retry_after <= at_most
    return retry_after


async def test_an_attacker_address_cannot_lock_the_owner_out(make_gateway: MakeGateway) -> None:
    async with make_gateway() as gw:  # its client is the attacker
        email, user_id = await gw.register()
        answers = [(await gw.login(email, WRONG)).status_code for _ in range(5)]
        assert answers == [401] * 5
        for _ in range(15):
            assert_throttled(await gw.login(email, WRONG), at_most=900)
        # The attacker's pair is refused even with the right password...
        assert_throttled(await gw.login(email), at_most=900)
        # ...and the owner, from an address that has not failed, logs in at once.
        async with client_at(gw, random_ip()) as owner:
            response = await login(owner, email)
        assert response.status_code == 200, response.text
        assert response.json()["user"]["user_id"] == user_id


async def test_a_burst_from_one_address_gets_no_more_tries_than_the_limit(
    make_gateway: MakeGateway,
) -> None:
    async with make_gateway(login_failures_per_account_address=3) as gw:
        email, _ = await gw.register()
        burst = await asyncio.gather(*(gw.login(email, WRONG) for _ in range(10)))
        statuses = sorted(response.status_code for response in burst)
        assert statuses == [401] * 3 + [429] * 7


async def test_account_wide_delays_grow_for_addresses_that_failed(
    make_gateway: MakeGateway,
) -> None:
    settings = {
        "login_backoff_after_failures": 3,
        "login_backoff_base_seconds": 2.0,
        "login_backoff_max_seconds": 8.0,
    }
    async with make_gateway(**settings) as gw:  # its client has failed once, below
        email, _ = await gw.register()
        assert (await gw.login(email, WRONG)).status_code == 401
        waits: list[int] = []
        for guess in range(5):  # a distributed guesser: each try from a fresh address
            async with client_at(gw, random_ip()) as fresh:
                assert (await login(fresh, email, WRONG)).status_code == 401
            if guess >= 1:  # from the third failure on, the failed address waits
                waits.append(assert_throttled(await gw.login(email), at_most=8))
        assert waits == [2, 4, 8, 8]
        # An address that has not failed is never delayed, the owner's included.
        async with client_at(gw, random_ip()) as owner:
            assert (await login(owner, email)).status_code == 200


async def test_a_successful_login_clears_the_pair_count(make_gateway: MakeGateway) -> None:
    async with make_gateway(login_failures_per_account_address=3) as gw:
        email, _ = await gw.register()
        for _ in range(2):
            await gw.login(email, WRONG)
        assert (await gw.login(email)).status_code == 200
        for _ in range(2):
            await gw.login(email, WRONG)
        assert (await gw.login(email)).status_code == 200


async def test_an_address_failing_across_accounts_is_throttled(
    make_gateway: MakeGateway,
) -> None:
    async with make_gateway(login_failures_per_ip=4) as gw:
        email, _ = await gw.register()
        for _ in range(4):
            stranger = f"ghost-{uuid.uuid4().hex}@example.com"
            assert (await gw.login(stranger, "guessing passwords")).status_code == 401
        blocked = await gw.login(email)
        assert_throttled(blocked, at_most=900)
        assert "address" in blocked.json()["detail"]
        async with client_at(gw, random_ip()) as owner:
            assert (await login(owner, email)).status_code == 200


async def test_registrations_are_limited_per_address(make_gateway: MakeGateway) -> None:
    async with make_gateway(registrations_per_ip=3) as gw:
        register = "/api/v1/auth/register"
        weak = await gw.client.post(register, json={"email": "w@example.com", "password": "x"})
        assert weak.status_code == 422  # refused before hashing: not counted
        for _ in range(3):
            await gw.register()
        refused = await gw.client.post(
            register, json={"email": f"u-{uuid.uuid4().hex}@example.com", "password": PASSWORD}
        )
        assert refused.status_code == 429
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.json()["type"].endswith("registration-throttled")
        assert 0 < int(refused.headers["Retry-After"]) <= 600
        async with client_at(gw, random_ip()) as elsewhere:
            other = await elsewhere.post(
                register,
                json={"email": f"u-{uuid.uuid4().hex}@example.com", "password": PASSWORD},
            )
        assert other.status_code == 201, other.text


def test_the_account_delay_doubles_up_to_its_cap() -> None:
    backoff = LoginBackoff(after=10, base_seconds=1.0, max_seconds=30.0)
    delays = [backoff.delay(failures) for failures in range(9, 17)]
    assert delays == [0.0, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0]
