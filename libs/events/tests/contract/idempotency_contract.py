"""The idempotency record contract, run against every adapter."""

from __future__ import annotations

from datetime import timedelta

import pytest

from marketscope_events.consuming import IdempotencyStore
from marketscope_events.errors import EventAlreadyHandledError, EventInProgressError

from .event_store_contract import MutableClock

CLAIM = timedelta(minutes=1)
KEEP = timedelta(days=1)


class IdempotencyContract:
    """Subclasses provide ``records`` (an IdempotencyStore) and ``clock`` (a MutableClock)."""

    async def test_first_claim_succeeds_second_sees_in_progress(
        self, records: IdempotencyStore
    ) -> None:
        await records.begin("chat", "e1", claim_for=CLAIM)
        with pytest.raises(EventInProgressError):
            await records.begin("chat", "e1", claim_for=CLAIM)

    async def test_completed_event_is_reported_as_handled(self, records: IdempotencyStore) -> None:
        await records.begin("chat", "e2", claim_for=CLAIM)
        await records.complete("chat", "e2", keep_for=KEEP)
        with pytest.raises(EventAlreadyHandledError):
            await records.begin("chat", "e2", claim_for=CLAIM)

    async def test_many_completions_at_once_are_each_recorded(
        self, records: IdempotencyStore
    ) -> None:
        # More than one BatchWriteItem holds, and one event named twice.
        event_ids = [f"many-{n}" for n in range(30)]
        for event_id in event_ids:
            await records.begin("chat", event_id, claim_for=CLAIM)
        await records.complete_many("chat", [*event_ids, event_ids[0]], keep_for=KEEP)
        for event_id in event_ids:
            with pytest.raises(EventAlreadyHandledError):
                await records.begin("chat", event_id, claim_for=CLAIM)
        await records.begin("notifier", event_ids[0], claim_for=CLAIM)

    async def test_consumers_are_independent(self, records: IdempotencyStore) -> None:
        await records.begin("chat", "e3", claim_for=CLAIM)
        await records.complete("chat", "e3", keep_for=KEEP)
        await records.begin("notifier", "e3", claim_for=CLAIM)

    async def test_released_claim_can_be_taken_again(self, records: IdempotencyStore) -> None:
        await records.begin("chat", "e4", claim_for=CLAIM)
        await records.release("chat", "e4")
        await records.begin("chat", "e4", claim_for=CLAIM)

    async def test_lapsed_claim_and_expired_record_are_ignored(
        self, records: IdempotencyStore, clock: MutableClock
    ) -> None:
        await records.begin("chat", "e5", claim_for=CLAIM)
        clock.now += CLAIM + timedelta(seconds=2)
        await records.begin("chat", "e5", claim_for=CLAIM)
        await records.complete("chat", "e5", keep_for=KEEP)
        clock.now += KEEP + timedelta(seconds=2)
        await records.begin("chat", "e5", claim_for=CLAIM)

    async def test_an_extended_claim_outlives_its_first_lapse(
        self, records: IdempotencyStore, clock: MutableClock
    ) -> None:
        await records.begin("chat", "e6", claim_for=CLAIM)
        clock.now += CLAIM - timedelta(seconds=10)
        await records.extend("chat", "e6", claim_for=CLAIM)
        clock.now += timedelta(seconds=30)  # past the first lapse, within the extended one
        with pytest.raises(EventInProgressError):
            await records.begin("chat", "e6", claim_for=CLAIM)
        clock.now += CLAIM
        await records.begin("chat", "e6", claim_for=CLAIM)

    async def test_extending_a_completed_record_leaves_it_completed(
        self, records: IdempotencyStore, clock: MutableClock
    ) -> None:
        await records.begin("chat", "e7", claim_for=CLAIM)
        await records.complete("chat", "e7", keep_for=KEEP)
        await records.extend("chat", "e7", claim_for=CLAIM)
        clock.now += CLAIM + timedelta(seconds=2)
        with pytest.raises(EventAlreadyHandledError):
            await records.begin("chat", "e7", claim_for=CLAIM)

    async def test_extending_a_released_claim_makes_no_claim(
        self, records: IdempotencyStore
    ) -> None:
        await records.begin("chat", "e8", claim_for=CLAIM)
        await records.release("chat", "e8")
        await records.extend("chat", "e8", claim_for=CLAIM)
        await records.begin("chat", "e8", claim_for=CLAIM)

    async def test_each_claim_has_its_own_owner(
        self, records: IdempotencyStore, clock: MutableClock
    ) -> None:
        first = await records.begin("chat", "e9", claim_for=CLAIM)
        clock.now += CLAIM + timedelta(seconds=2)
        second = await records.begin("chat", "e9", claim_for=CLAIM)
        assert first
        assert second
        assert first != second

    async def test_a_lapsed_owner_neither_frees_nor_extends_the_new_claim(
        self, records: IdempotencyStore, clock: MutableClock
    ) -> None:
        lapsed = await records.begin("chat", "e10", claim_for=CLAIM)
        clock.now += CLAIM + timedelta(seconds=2)
        holder = await records.begin("chat", "e10", claim_for=CLAIM)
        await records.release("chat", "e10", owner=lapsed)
        await records.extend("chat", "e10", claim_for=CLAIM * 10, owner=lapsed)
        with pytest.raises(EventInProgressError):
            await records.begin("chat", "e10", claim_for=CLAIM)
        clock.now += CLAIM + timedelta(seconds=2)  # not extended by the lapsed owner
        await records.begin("chat", "e10", claim_for=CLAIM)
        await records.release("chat", "e10", owner=holder)  # no longer holder's: kept
        with pytest.raises(EventInProgressError):
            await records.begin("chat", "e10", claim_for=CLAIM)

    async def test_the_owner_releases_its_own_claim(self, records: IdempotencyStore) -> None:
        owner = await records.begin("chat", "e11", claim_for=CLAIM)
        await records.release("chat", "e11", owner=owner)
        await records.begin("chat", "e11", claim_for=CLAIM)

    async def test_an_owner_release_keeps_a_completed_record(
        self, records: IdempotencyStore
    ) -> None:
        owner = await records.begin("chat", "e12", claim_for=CLAIM)
        await records.complete("chat", "e12", keep_for=KEEP)
        await records.release("chat", "e12", owner=owner)
        with pytest.raises(EventAlreadyHandledError):
            await records.begin("chat", "e12", claim_for=CLAIM)
