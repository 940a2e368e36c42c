"""The documents domain without storage: what is refused is refused before anything is
stored (the storage and the index here fail the test when touched), tags are normalised,
and a caller sees their own documents and the shared knowledge base."""

from __future__ import annotations

import pytest

from marketscope_rag.errors import (
    DocumentTooLargeError,
    ForbiddenError,
    InvalidDocumentError,
    UnsupportedDocumentError,
)
from marketscope_rag.service import DocumentService, Upload, normalise_tags, visible_owners
from marketscope_servicekit import Identity

from .fakes import Untouchable

ALICE = Identity("alice", frozenset({"user"}))
ADMIN = Identity("root", frozenset({"user", "admin"}))


@pytest.fixture
def service() -> DocumentService:
    return DocumentService(
        Untouchable("repository"),
        Untouchable("objects"),
        Untouchable("index"),
        Untouchable("usage"),
        max_upload_bytes=100,
        download_url_seconds=60,
    )


def markdown(data: bytes = b"# Notes\n\nSome text.", **fields: object) -> Upload:
    return Upload(filename="notes.md", content_type="text/markdown", data=data, **fields)


@pytest.mark.parametrize(
    ("upload", "shared", "error"),
    [
        (markdown(b"x" * 101), False, DocumentTooLargeError),
        (markdown(), True, ForbiddenError),
        (markdown(tags=["no spaces allowed"]), False, InvalidDocumentError),
        (markdown(b""), False, InvalidDocumentError),
        (Upload("photo.png", "image/png", b"\x89PNG\r\n\x1a\n"), False, UnsupportedDocumentError),
    ],
)
async def test_refused_uploads_store_nothing(
    service: DocumentService, upload: Upload, shared: bool, error: type[Exception]
) -> None:
    with pytest.raises(error):
        await service.upload(ALICE, upload, shared=shared)


async def test_only_admins_upload_the_starter_knowledge_base(service: DocumentService) -> None:
    with pytest.raises(ForbiddenError) as refused:
        await service.upload_starter_documents(ALICE)
    assert refused.value.status == 403


def test_tags_are_trimmed_lowercased_deduplicated_and_sorted() -> None:
    assert normalise_tags([" Ratios", "liquidity", "ratios", ""]) == ["liquidity", "ratios"]
    with pytest.raises(InvalidDocumentError):
        normalise_tags([f"tag{i}" for i in range(21)])


def test_a_caller_sees_their_own_and_the_shared_documents() -> None:
    assert visible_owners(ALICE) == ["alice", "shared"]
    assert visible_owners(ADMIN) == ["root", "shared"]
