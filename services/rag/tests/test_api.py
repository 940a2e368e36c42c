"""The HTTP API end to end on the emulator: upload -> DocumentUploaded -> indexed ->
searchable; dedup; new versions; deletion; owner isolation; bad files with clear errors
and nothing left; the starter knowledge base."""

from __future__ import annotations

import hashlib
from typing import Any

import httpx
import pytest

from marketscope_rag.documents.state import stream_id
from marketscope_rag.errors import ConflictError
from marketscope_rag.starter import STARTER_DOCUMENTS

from .conftest import MAX_UPLOAD_BYTES, Rag, user
from .pdfs import pdf_with_text

pytestmark = pytest.mark.integration

GUIDE = b"""# Liquidity guide

## Zebra ratio

The zebra ratio of a company is cash divided by striped liabilities; above 1.3 is healthy.

## Other notes

Nothing else matters here.
"""


async def event_types(rag: Rag, document_id: str) -> list[str]:
    store = rag.components.store
    return [event.event_type.name for event in await store.read(stream_id(document_id))]


async def objects_of(rag: Rag, owner: str) -> list[dict]:
    s3 = await rag.components.aws.client("s3")
    response = await s3.list_object_versions(Bucket="marketscope-documents", Prefix=f"rag/{owner}/")
    return response.get("Versions", []) + response.get("DeleteMarkers", [])


async def test_upload_is_indexed_and_searchable_with_citations(rag: Rag) -> None:
    alice = user()
    response = await rag.upload(alice, "liquidity.md", GUIDE, tags="ratios,Liquidity")
    assert response.status_code == 202, response.text
    accepted = response.json()
    document_id = accepted["document_id"]
    assert accepted["status_url"] == f"/documents/{document_id}"
    assert response.headers["location"] == accepted["status_url"]
    assert accepted["deduplicated"] is False

    document = await rag.wait_for(alice, document_id, {"indexed"})
    assert document["chunk_count"] >= 2
    assert document["embedding_model"] == "all-MiniLM-L6-v2-onnx-int8"
    assert document["tags"] == ["liquidity", "ratios"]
    assert document["content_type"] == "text/markdown"
    assert document["download"]["url"].startswith("http")
    s3_object = (await objects_of(rag, alice))[0]
    assert s3_object["Key"] == f"rag/{alice}/{document_id}/liquidity.md"
    assert s3_object["VersionId"] == document["version_id"]
    s3 = await rag.components.aws.client("s3")
    head = await s3.head_object(Bucket="marketscope-documents", Key=s3_object["Key"])
    assert head["ContentType"] == "text/markdown"
    assert head["Metadata"] == {
        "owner": alice,
        "sha256": document["sha256"],
        "document-id": document_id,
    }
    assert await event_types(rag, document_id) == [
        "DocumentUploaded",
        "DocumentIndexingStarted",
        "DocumentIndexed",
    ]

    hits = (await rag.search(alice, "what zebra ratio is healthy?", k=3)).json()["hits"]
    top = hits[0]
    assert top["citation"]["document_id"] == document_id
    assert top["citation"]["filename"] == "liquidity.md"
    assert top["citation"]["version_id"] == document["version_id"]
    start, end = top["citation"]["start"], top["citation"]["end"]
    assert GUIDE.decode()[start:end] == top["text"]
    assert "1.3 is healthy" in top["snippet"]
    assert top["section"] == "Liquidity guide > Zebra ratio"
    by_tag = await rag.search(alice, "zebra", tags=["ratios"], mode="bm25")
    assert by_tag.json()["hits"]
    by_other_tag = await rag.search(alice, "zebra", tags=["macro"])
    assert by_other_tag.json()["hits"] == []


async def test_same_bytes_again_are_the_existing_document(rag: Rag) -> None:
    alice = user()
    first = (await rag.upload(alice, "a.md", GUIDE)).json()
    await rag.wait_for(alice, first["document_id"], {"indexed"})
    again = await rag.upload(alice, "renamed.md", GUIDE)
    assert again.status_code == 200
    assert again.json()["document_id"] == first["document_id"]
    assert again.json()["deduplicated"] is True
    assert (await event_types(rag, first["document_id"])).count("DocumentUploaded") == 1
    assert len(await objects_of(rag, alice)) == 1
    # Another owner's identical bytes are their own document.
    bob = user()
    theirs = await rag.upload(bob, "a.md", GUIDE)
    assert theirs.status_code == 202
    assert theirs.json()["document_id"] != first["document_id"]


async def test_a_new_version_replaces_the_chunks(rag: Rag) -> None:
    alice = user()
    document_id = (await rag.upload(alice, "notes.md", GUIDE)).json()["document_id"]
    first = await rag.wait_for(alice, document_id, {"indexed"})
    updated = b"# Liquidity guide\n\n## Okapi coverage\n\nOkapi coverage above 4 is comfortable.\n"
    response = await rag.client.put(
        f"/documents/{document_id}",
        headers=rag.headers(alice),
        files={"file": ("notes.md", updated, "text/markdown")},
    )
    assert response.status_code == 202, response.text
    new_version = response.json()["version_id"]
    assert new_version != first["version_id"]
    document = await rag.wait_for(alice, document_id, {"indexed"})
    assert document["version_id"] == new_version
    assert document["versions"] == 2
    hits = (await rag.search(alice, "okapi coverage", k=5)).json()["hits"]
    assert hits[0]["citation"]["version_id"] == new_version
    old = (await rag.search(alice, "zebra ratio striped liabilities", mode="bm25")).json()
    assert old["hits"] == []
    same = await rag.client.put(
        f"/documents/{document_id}",
        headers=rag.headers(alice),
        files={"file": ("notes.md", updated, "text/markdown")},
    )
    assert same.status_code == 200
    assert same.json()["deduplicated"] is True


async def test_delete_removes_chunks_and_every_stored_version(rag: Rag) -> None:
    alice = user()
    document_id = (await rag.upload(alice, "gone.md", GUIDE)).json()["document_id"]
    await rag.wait_for(alice, document_id, {"indexed"})
    response = await rag.client.delete(f"/documents/{document_id}", headers=rag.headers(alice))
    assert response.status_code == 204
    document = (await rag.get(alice, document_id)).json()
    assert document["status"] == "deleted"
    assert document["download"] is None
    assert (await rag.search(alice, "zebra ratio", mode="bm25")).json()["hits"] == []
    assert rag.components.index.chunks_of(document_id) == []
    listed = (await rag.client.get("/documents", headers=rag.headers(alice))).json()
    assert document_id not in [d["document_id"] for d in listed["documents"]]
    # Every version is gone for good: no link minted earlier can serve the bytes.
    assert await objects_of(rag, alice) == []
    assert (await event_types(rag, document_id))[-1] == "DocumentDeleted"
    again = await rag.client.delete(f"/documents/{document_id}", headers=rag.headers(alice))
    assert again.status_code == 204
    assert (await event_types(rag, document_id)).count("DocumentDeleted") == 1
    # After deletion the same bytes make a new document.
    reupload = await rag.upload(alice, "gone.md", GUIDE)
    assert reupload.status_code == 202
    assert reupload.json()["document_id"] != document_id


async def test_owners_see_their_own_and_shared_documents_only(rag: Rag) -> None:
    alice, bob, admin = user(), user(), user()
    private = (await rag.upload(alice, "private.md", GUIDE)).json()["document_id"]
    shared_bytes = b"# Shared\n\nThe capybara multiple compares calm with chaos.\n"
    refused = await rag.upload(bob, "shared.md", shared_bytes, shared="true")
    assert refused.status_code == 403
    shared = await rag.upload(admin, "shared.md", shared_bytes, admin=True, shared="true")
    assert shared.status_code == 202
    shared_id = shared.json()["document_id"]
    await rag.wait_for(alice, private, {"indexed"})
    await rag.wait_for(bob, shared_id, {"indexed"})

    missing = await rag.get(bob, private)
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
    not_theirs = await rag.client.delete(f"/documents/{private}", headers=rag.headers(bob))
    assert not_theirs.status_code == 404
    bob_view = (await rag.search(bob, "zebra ratio striped liabilities")).json()["hits"]
    assert private not in [hit["citation"]["document_id"] for hit in bob_view]
    bob_hits = (await rag.search(bob, "capybara multiple")).json()["hits"]
    assert bob_hits[0]["citation"]["document_id"] == shared_id
    assert bob_hits[0]["owner"] == "shared"
    alice_ids = [
        d["document_id"]
        for d in (await rag.client.get("/documents", headers=rag.headers(alice))).json()[
            "documents"
        ]
    ]
    assert private in alice_ids
    assert shared_id in alice_ids
    # Visible but not theirs to change: only admins delete shared documents.
    forbidden = await rag.client.delete(f"/documents/{shared_id}", headers=rag.headers(bob))
    assert forbidden.status_code == 403
    unsigned = await rag.client.get(f"/documents/{private}")
    assert unsigned.status_code == 401


@pytest.mark.parametrize(
    ("filename", "data", "content_type", "status", "problem"),
    [
        ("big.md", b"x" * (MAX_UPLOAD_BYTES + 1), "text/markdown", 413, "document-too-large"),
        ("photo.png", b"\x89PNG\r\n\x1a\n" + b"\0" * 99, "image/png", 415, "unsupported-document"),
        ("fake.pdf", b"plain text pretending", "application/pdf", 415, "unsupported-document"),
        ("fake.md", pdf_with_text(["hidden"]), "text/markdown", 415, "unsupported-document"),
        ("empty.txt", b"", "text/plain", 422, "invalid-document"),
    ],
)
async def test_bad_files_are_refused_and_leave_nothing(
    rag: Rag, filename, data, content_type, status, problem
) -> None:
    alice = user()
    response = await rag.upload(alice, filename, data, content_type)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"].endswith(problem)
    assert await objects_of(rag, alice) == []
    listed = await rag.client.get("/documents", headers=rag.headers(alice))
    assert [d for d in listed.json()["documents"] if d["owner"] == alice] == []


async def starter(rag: Rag, caller: str, *, admin: bool) -> httpx.Response:
    return await rag.client.post(
        "/knowledge-base/starter", headers=rag.headers(caller, admin=admin)
    )


async def test_the_starter_knowledge_base_uploads_once(rag: Rag) -> None:
    first = await starter(rag, "marketscope-starter", admin=True)
    assert first.status_code in (200, 202), first.text
    ids = [document["document_id"] for document in first.json()["documents"]]
    assert len(ids) == len(STARTER_DOCUMENTS)
    again = await starter(rag, "marketscope-starter", admin=True)
    assert again.status_code == 200
    assert [document["document_id"] for document in again.json()["documents"]] == ids
    assert all(document["deduplicated"] for document in again.json()["documents"])
    reader = user()
    for document_id in ids:
        document = await rag.wait_for(reader, document_id, {"indexed"}, within=120)
        assert document["owner"] == "shared"
    hits = (await rag.search(reader, "What does an RSI above 70 mean?")).json()["hits"]
    assert hits[0]["citation"]["filename"] == "technical-indicators.md"


async def test_only_an_admin_uploads_the_starter_knowledge_base(rag: Rag) -> None:
    refused = await starter(rag, user(), admin=False)
    assert refused.status_code == 403
    assert refused.headers["content-type"] == "application/problem+json"


async def test_a_download_link_minted_before_a_delete_serves_nothing(rag: Rag) -> None:
    alice = user()
    document_id = (await rag.upload(alice, "secret.md", GUIDE)).json()["document_id"]
    first_link = (await rag.get(alice, document_id)).json()["download"]["url"]
    newer = await rag.client.put(
        f"/documents/{document_id}",
        headers=rag.headers(alice),
        files={"file": ("secret.md", GUIDE + b"\nMore.\n", "text/markdown")},
    )
    assert newer.status_code == 202, newer.text
    second_link = (await rag.get(alice, document_id)).json()["download"]["url"]
    async with httpx.AsyncClient() as browser:  # the link is fetched from S3 directly
        assert (await browser.get(first_link)).content == GUIDE
        deleted = await rag.client.delete(f"/documents/{document_id}", headers=rag.headers(alice))
        assert deleted.status_code == 204
        for link in (first_link, second_link):
            response = await browser.get(link)
            assert response.status_code in (403, 404), response.text
            assert b"zebra ratio" not in response.content


def lose_the_next_append(rag: Rag, monkeypatch: pytest.MonkeyPatch, document_id: str) -> list[int]:
    """The next append to the document's stream loses a race (as when indexing appended
    first and its expected version is stale); later ones go through. The list gets an
    entry when the race was lost."""
    repository = rag.components.documents._repository
    append = repository.append
    raced: list[int] = []

    async def append_after_a_rival(*args: Any, **kwargs: Any) -> Any:
        if not raced:
            raced.append(1)
            raise ConflictError(f"document {document_id} changed meanwhile; retry")
        return await append(*args, **kwargs)

    monkeypatch.setattr(repository, "append", append_after_a_rival)
    return raced


async def test_a_delete_that_races_another_append_still_deletes(
    rag: Rag, monkeypatch: pytest.MonkeyPatch
) -> None:
    alice = user()
    document_id = (await rag.upload(alice, "racing.md", GUIDE)).json()["document_id"]
    raced = lose_the_next_append(rag, monkeypatch, document_id)
    deleted = await rag.client.delete(f"/documents/{document_id}", headers=rag.headers(alice))
    assert deleted.status_code == 204, deleted.text
    assert raced == [1]
    assert (await rag.get(alice, document_id)).json()["status"] == "deleted"


async def test_a_new_version_that_races_indexing_is_still_stored(
    rag: Rag, monkeypatch: pytest.MonkeyPatch
) -> None:
    alice = user()
    document_id = (await rag.upload(alice, "versioned.md", GUIDE)).json()["document_id"]
    await rag.wait_for(alice, document_id, {"indexed"})
    raced = lose_the_next_append(rag, monkeypatch, document_id)
    newer = await rag.client.put(
        f"/documents/{document_id}",
        headers=rag.headers(alice),
        files={"file": ("versioned.md", GUIDE + b"\nMore.\n", "text/markdown")},
    )
    assert newer.status_code == 202, newer.text
    assert raced == [1]
    current = (await rag.get(alice, document_id)).json()
    assert current["version_id"] == newer.json()["version_id"]
    assert current["sha256"] == hashlib.sha256(GUIDE + b"\nMore.\n").hexdigest()


async def test_json_nested_too_deep_is_refused_and_the_next_request_works(rag: Rag) -> None:
    alice = user()
    deep = b"[" * 1200 + b"]" * 1200  # 2.4 KB
    for content_type in ("application/json", "application/octet-stream"):
        response = await rag.upload(alice, "deep.json", deep, content_type)
        assert response.status_code == 422, response.text
        assert response.headers["content-type"] == "application/problem+json"
        problem = response.json()
        assert problem["type"].endswith("invalid-document")
        assert problem["max_depth"] == 64
    assert await objects_of(rag, alice) == []
    fine = await rag.upload(alice, "fine.json", b'{"company": {"pe": 21.5}}', "application/json")
    assert fine.status_code == 202, fine.text
    # The same nesting declared as text is text: indexed as it stands.
    as_text = await rag.upload(alice, "brackets.txt", b"Brackets: " + deep, "text/plain")
    assert as_text.status_code == 202
    await rag.wait_for(alice, as_text.json()["document_id"], {"indexed"})
