"""The indexing consumer's handlers: what kind of failure each indexing problem is (a
document that cannot be read is terminal, storage trouble and races are transient), and,
end to end, that a corrupt document fails with its reason while indexing carries on."""

from __future__ import annotations

import pytest

from marketscope_events import TerminalHandlerError, TransientHandlerError
from marketscope_events.catalog import DocumentUploaded
from marketscope_rag.errors import ConflictError, StorageUnavailableError
from marketscope_rag.handlers import DocumentEventHandlers
from marketscope_rag.indexing.indexer import DocumentUnreadableError

from .conftest import Rag, user
from .fakes import ScriptedIndexer, decoded, uploaded
from .pdfs import corrupt_pdf, pdf_with_text


async def test_an_uploaded_document_is_handed_to_the_indexer() -> None:
    indexer = ScriptedIndexer()
    await DocumentEventHandlers(indexer).on_document_uploaded(decoded(uploaded("doc-7")))
    assert [event.document_id for event in indexer.calls] == ["doc-7"]


async def test_an_unreadable_document_is_a_terminal_failure() -> None:
    handlers = DocumentEventHandlers(ScriptedIndexer(DocumentUnreadableError("unreadable PDF")))
    with pytest.raises(TerminalHandlerError, match="doc-1: unreadable PDF"):
        await handlers.on_document_uploaded(decoded(uploaded()))


@pytest.mark.parametrize(
    "failure", [StorageUnavailableError("table throttled"), ConflictError("changed meanwhile")]
)
async def test_storage_trouble_and_races_are_transient(failure: Exception) -> None:
    handlers = DocumentEventHandlers(ScriptedIndexer(failure))
    with pytest.raises(TransientHandlerError):
        await handlers.on_document_uploaded(decoded(uploaded()))


def test_the_handlers_consume_document_uploaded() -> None:
    registered: list[str] = []

    class Recorder:
        def on(self, event_name: str, _handler: object) -> None:
            registered.append(event_name)

    DocumentEventHandlers(ScriptedIndexer()).register(Recorder())
    assert registered == [DocumentUploaded.event_name]


@pytest.mark.integration
async def test_a_corrupt_pdf_fails_with_its_reason_and_indexing_carries_on(rag: Rag) -> None:
    alice = user()
    broken = await rag.upload(alice, "broken.pdf", corrupt_pdf(), "application/pdf")
    assert broken.status_code == 202
    good_pdf = pdf_with_text(["The wombat spread measures bid and ask distance."])
    good = await rag.upload(alice, "good.pdf", good_pdf, "application/pdf")
    failed = await rag.wait_for(alice, broken.json()["document_id"], {"failed"})
    assert "unreadable PDF" in failed["failure_reason"]
    assert rag.components.index.chunks_of(failed["document_id"]) == []
    indexed = await rag.wait_for(alice, good.json()["document_id"], {"indexed"})
    assert indexed["chunk_count"] == 1
    hits = (await rag.search(alice, "wombat spread")).json()["hits"]
    assert hits[0]["citation"]["document_id"] == indexed["document_id"]
