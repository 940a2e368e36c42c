"""Per-owner quotas on the emulator: the usage ledger's conditional writes (concurrent
reservations never overshoot), the storage quota (413) over every stored version, the
chunk quota (429 at upload, a clear failure at indexing), and the chunk cap per
document, which fails a document before any of it is embedded."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from marketscope_platform.aws import AwsClients
from marketscope_rag.errors import ChunkQuotaExceededError, StorageQuotaExceededError
from marketscope_rag.quotas.usage import Quotas, Usage, UsageLedger
from marketscope_rag.settings import Settings

from .conftest import MakeRag, user
from .fakes import paragraphs

pytestmark = pytest.mark.integration


@pytest.fixture
async def ledger(provisioned: str, aws: AwsClients) -> UsageLedger:
    return UsageLedger(
        await aws.client("dynamodb"),
        Settings().table_name,
        Quotas(storage_bytes=5_000, chunks=100),
    )


async def test_concurrent_reservations_never_overshoot(ledger: UsageLedger) -> None:
    owner = f"owner-{uuid.uuid4().hex[:8]}"

    async def store_1000() -> int | None:
        try:
            async with ledger.storing(owner, 1_000) as reservation:
                reservation.keep()
        except StorageQuotaExceededError as refused:
            return refused.limit
        return None

    outcomes = await asyncio.gather(*(store_1000() for _ in range(12)))
    assert outcomes.count(None) == 5
    assert outcomes.count(5_000) == 7
    assert await ledger.usage(owner) == Usage(stored_bytes=5_000)


async def test_a_reservation_not_kept_is_handed_back(ledger: UsageLedger) -> None:
    owner = f"owner-{uuid.uuid4().hex[:8]}"
    seen: list[int] = []

    async def failing_upload() -> None:
        async with ledger.storing(owner, 4_000):
            seen.append((await ledger.usage(owner)).stored_bytes)
            raise RuntimeError("the upload failed")

    with pytest.raises(RuntimeError, match="upload failed"):
        await failing_upload()
    assert seen == [4_000]
    assert (await ledger.usage(owner)).stored_bytes == 0
    await ledger.reserve_chunks(owner, 60)
    with pytest.raises(ChunkQuotaExceededError) as refused:
        await ledger.reserve_chunks(owner, 41)
    assert (refused.value.used, refused.value.requested) == (60, 41)
    # Handing back more than was counted stops at zero.
    await ledger.release(owner, stored_bytes=10, chunks=500)
    assert await ledger.usage(owner) == Usage()


async def test_storage_quota_counts_every_version_and_deleting_frees_it(
    make_rag: MakeRag,
) -> None:
    alice = user()
    async with make_rag(storage_quota_bytes=10_000) as rag:
        first = await rag.upload(alice, "a.txt", b"a" * 6_000, "text/plain")
        assert first.status_code == 202, first.text
        document_id = first.json()["document_id"]
        await rag.wait_for(alice, document_id, {"indexed"})
        # The new version is stored beside the first one: 12,000 bytes would not fit.
        version = await rag.client.put(
            f"/documents/{document_id}",
            headers=rag.headers(alice),
            files={"file": ("a.txt", b"b" * 6_000, "text/plain")},
        )
        assert version.status_code == 413, version.text
        assert version.headers["content-type"] == "application/problem+json"
        problem = version.json()
        assert problem["type"].endswith("storage-quota-exceeded")
        assert (problem["limit"], problem["used"], problem["requested"]) == (10_000, 6_000, 6_000)
        refused = await rag.upload(alice, "b.txt", b"c" * 5_000, "text/plain")
        assert refused.status_code == 413
        # Another owner has a quota of their own.
        assert (await rag.upload(user(), "b.txt", b"c" * 5_000, "text/plain")).status_code == 202
        small = await rag.client.put(
            f"/documents/{document_id}",
            headers=rag.headers(alice),
            files={"file": ("a.txt", b"d" * 3_000, "text/plain")},
        )
        assert small.status_code == 202
        assert (await rag.components.usage.usage(alice)).stored_bytes == 9_000
        await rag.wait_for(alice, document_id, {"indexed"})
        deleted = await rag.client.delete(f"/documents/{document_id}", headers=rag.headers(alice))
        assert deleted.status_code == 204
        assert await rag.components.usage.usage(alice) == Usage()
        assert (await rag.upload(alice, "b.txt", b"c" * 5_000, "text/plain")).status_code == 202


async def test_the_chunk_quota_fails_indexing_then_refuses_uploads(make_rag: MakeRag) -> None:
    alice = user()
    async with make_rag(chunk_quota=5) as rag:
        first = (await rag.upload(alice, "a.txt", paragraphs(3, "okapi"), "text/plain")).json()
        await rag.wait_for(alice, first["document_id"], {"indexed"})
        second = (await rag.upload(alice, "b.txt", paragraphs(3, "zebra"), "text/plain")).json()
        failed = await rag.wait_for(alice, second["document_id"], {"failed"})
        assert failed["failure_reason"] == "chunk quota exceeded (3 + 3 > 5)"
        assert rag.components.index.chunks_of(second["document_id"]) == []
        third = (await rag.upload(alice, "c.txt", paragraphs(2, "lynx"), "text/plain")).json()
        await rag.wait_for(alice, third["document_id"], {"indexed"})
        assert (await rag.components.usage.usage(alice)).indexed_chunks == 5
        full = await rag.upload(alice, "d.txt", paragraphs(1, "ibex"), "text/plain")
        assert full.status_code == 429, full.text
        assert full.headers["content-type"] == "application/problem+json"
        problem = full.json()
        assert problem["type"].endswith("chunk-quota-exceeded")
        assert (problem["limit"], problem["used"]) == (5, 5)
        await rag.client.delete(f"/documents/{first['document_id']}", headers=rag.headers(alice))
        assert (await rag.components.usage.usage(alice)).indexed_chunks == 2
        again = await rag.upload(alice, "d.txt", paragraphs(1, "ibex"), "text/plain")
        assert again.status_code == 202


async def test_a_document_over_the_chunk_cap_fails_before_it_is_embedded(
    make_rag: MakeRag,
) -> None:
    alice = user()
    async with make_rag(max_document_chunks=4) as rag:
        embedder = rag.components.index.embedder
        embedded: list[int] = []
        original = embedder.embed

        def counting(texts):  # type: ignore[no-untyped-def]
            # The queue is shared with other tests' leftovers: count this test's texts.
            embedded.append(sum("capybara" in text for text in texts))
            return original(texts)

        embedder.embed = counting  # type: ignore[method-assign]
        response = await rag.upload(alice, "long.txt", paragraphs(7, "capybara"), "text/plain")
        failed = await rag.wait_for(alice, response.json()["document_id"], {"failed"})
        assert failed["failure_reason"] == "too many chunks (7 > 4)"
        assert sum(embedded) == 0
        assert (await rag.components.usage.usage(alice)).indexed_chunks == 0
        fits = await rag.upload(alice, "short.txt", paragraphs(4, "capybara"), "text/plain")
        await rag.wait_for(alice, fits.json()["document_id"], {"indexed"})
        assert sum(embedded) == 4
