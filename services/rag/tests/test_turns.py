"""Fair turns at the indexing work: owners waiting for a slot are served round-robin, an
owner's own turns keep their order, a cancelled waiter gives its place up; and, end to
end, one owner's large documents do not hold back another owner's small one."""

from __future__ import annotations

import asyncio

import pytest

from marketscope_rag.documents.state import stream_id
from marketscope_rag.indexing.turns import FairTurns

from .conftest import MakeRag, Rag, user
from .fakes import paragraphs


async def test_waiting_owners_are_served_round_robin() -> None:
    turns = FairTurns(1)
    served: list[str] = []
    release = asyncio.Event()

    async def work(owner: str, label: str) -> None:
        async with turns.turn(owner):
            served.append(label)
            await release.wait()

    first = asyncio.create_task(work("a", "a0"))
    await asyncio.sleep(0)
    tasks = [asyncio.create_task(work("a", f"a{i}")) for i in (1, 2, 3)]
    await asyncio.sleep(0)
    tasks.append(asyncio.create_task(work("b", "b1")))
    tasks.append(asyncio.create_task(work("c", "c1")))
    await asyncio.sleep(0)
    assert turns.waiting == 5
    release.set()
    await asyncio.gather(first, *tasks)
    # b and c queued after a's three turns, yet each waits for one of a's turns at most.
    assert served == ["a0", "a1", "b1", "c1", "a2", "a3"]


async def test_a_cancelled_waiter_gives_its_place_up() -> None:
    turns = FairTurns(1)
    served: list[str] = []
    hold = asyncio.Event()

    async def work(owner: str) -> None:
        async with turns.turn(owner):
            served.append(owner)
            await hold.wait()

    holder = asyncio.create_task(work("a"))
    await asyncio.sleep(0)
    cancelled = asyncio.create_task(work("b"))
    waiter = asyncio.create_task(work("c"))
    await asyncio.sleep(0)
    cancelled.cancel()
    hold.set()
    await asyncio.gather(holder, waiter)
    with pytest.raises(asyncio.CancelledError):
        await cancelled
    assert served == ["a", "c"]
    assert turns.waiting == 0
    # The slot is free again: a new turn starts at once.
    assert await asyncio.wait_for(turns.run("d", lambda: 42), timeout=5) == 42


def test_a_scheduler_needs_a_slot() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        FairTurns(0)


async def recorded_at(rag: Rag, document_id: str, event_name: str) -> float:
    events = await rag.components.store.read(stream_id(document_id))
    times = [event.time.timestamp() for event in events if event.event_type.name == event_name]
    assert times, f"{document_id} has no {event_name}"
    return times[0]


@pytest.mark.integration
async def test_a_small_upload_is_not_held_back_by_another_owners_large_ones(
    make_rag: MakeRag,
) -> None:
    alice, bob = user(), user()
    async with make_rag() as rag:
        large = [
            (await rag.upload(alice, f"large-{n}.txt", paragraphs(60, f"topic{n}"), "text/plain"))
            for n in range(3)
        ]
        small = await rag.upload(bob, "small.txt", paragraphs(1, "okapi"), "text/plain")
        assert all(response.status_code == 202 for response in [*large, small])
        small_id = small.json()["document_id"]
        large_ids = [response.json()["document_id"] for response in large]
        await rag.wait_for(bob, small_id, {"indexed"})
        for document_id in large_ids:
            await rag.wait_for(alice, document_id, {"indexed"}, within=120)
        # Alice's documents, more than there are slots, were all being indexed when bob's
        # arrived; his finished first: after a slice or two of theirs, not a whole one.
        small_done = await recorded_at(rag, small_id, "DocumentIndexed")
        for document_id in large_ids:
            assert await recorded_at(rag, document_id, "DocumentIndexingStarted") < small_done
            assert small_done < await recorded_at(rag, document_id, "DocumentIndexed")
