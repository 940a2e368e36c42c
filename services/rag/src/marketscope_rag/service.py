"""The documents domain: upload, new versions, reads, deletion and search, with owner
isolation. No HTTP and no boto here: storage comes in through the repository and the
object store, the index through `ChunkIndex`.

Visibility: a caller sees their own documents and the shared knowledge base (owner
``shared``, written by admins). Anything else does not exist for them (404, never 403).

Quotas: every upload and new version reserves its bytes in the owner's storage quota
before it is stored (413 when they do not fit) and is refused with 429 while the owner's
indexed chunks are at their quota; deleting a document hands back its bytes and chunks.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from marketscope_events import CATALOG, Envelope
from marketscope_events.catalog import DocumentDeleted, DocumentUploaded
from marketscope_events.timeutil import Clock, utc_now
from marketscope_rag.documents.objects import DocumentObjects, safe_filename
from marketscope_rag.documents.state import SHARED_OWNER, DocumentState, stream_id
from marketscope_rag.errors import (
    ConflictError,
    DocumentNotFoundError,
    DocumentTooLargeError,
    DuplicateDocumentError,
    ForbiddenError,
    InvalidDocumentError,
    RagError,
)
from marketscope_rag.indexing.extraction import sniff
from marketscope_rag.quotas.usage import UsageLedger
from marketscope_rag.search.retrieval import ChunkIndex, Hit, SearchMode
from marketscope_rag.starter import (
    STARTER_CONTENT_TYPE,
    STARTER_DOCUMENTS,
    STARTER_TAGS,
    starter_document,
)
from marketscope_rag.store import DocumentRepository
from marketscope_servicekit import Identity, MetricsRecorder

_TAG = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,39}$")
MAX_TAGS = 20
# Indexing appends to a document's stream too: a delete or a new version that races it
# reloads the stream and tries again this often.
RACE_ATTEMPTS = 5


@dataclass(frozen=True)
class Upload:
    filename: str
    content_type: str | None
    data: bytes
    tags: Sequence[str] = ()


@dataclass(frozen=True)
class UploadOutcome:
    document: DocumentState
    created: bool  # False: these bytes were already this document (nothing re-indexed)


def normalise_tags(tags: Sequence[str]) -> list[str]:
    cleaned = sorted({tag.strip().lower() for tag in tags if tag.strip()})
    bad = [tag for tag in cleaned if not _TAG.match(tag)]
    if bad or len(cleaned) > MAX_TAGS:
        raise InvalidDocumentError(
            f"Tags are up to {MAX_TAGS} of [a-z0-9_.-] (1-40 characters); rejected: {bad}"
        )
    return cleaned


def visible_owners(identity: Identity) -> list[str]:
    return sorted({identity.user_id, SHARED_OWNER})


class DocumentService:
    def __init__(
        self,
        repository: DocumentRepository,
        objects: DocumentObjects,
        index: ChunkIndex,
        usage: UsageLedger,
        *,
        max_upload_bytes: int,
        download_url_seconds: int,
        metrics: MetricsRecorder | None = None,
        clock: Clock = utc_now,
    ) -> None:
        self._repository = repository
        self._objects = objects
        self._index = index
        self._usage = usage
        self.max_upload_bytes = max_upload_bytes
        self.download_url_seconds = download_url_seconds
        self._metrics = metrics
        self._clock = clock

    def _owner_for_upload(self, identity: Identity, shared: bool) -> str:
        if shared or identity.user_id == SHARED_OWNER:
            if not identity.is_admin:
                raise ForbiddenError("Only administrators write the shared knowledge base.")
            return SHARED_OWNER
        return identity.user_id

    def _check_size(self, upload: Upload) -> None:
        if len(upload.data) > self.max_upload_bytes:
            raise DocumentTooLargeError(self.max_upload_bytes)

    async def upload(self, identity: Identity, upload: Upload, *, shared: bool) -> UploadOutcome:
        self._check_size(upload)
        owner = self._owner_for_upload(identity, shared)
        tags = normalise_tags(upload.tags)
        sniffed = sniff(upload.data, upload.content_type, upload.filename)
        await self._usage.require_chunk_room(owner)
        sha256 = hashlib.sha256(upload.data).hexdigest()
        document_id = str(uuid.uuid4())
        async with self._usage.storing(owner, len(upload.data)) as reservation:
            existing = await self._claim(owner, sha256, document_id)
            if existing is not None:
                return UploadOutcome(existing, created=False)
            filename = safe_filename(upload.filename)
            key = self._objects.key(owner, document_id, filename)
            try:
                stored = await self._objects.put(
                    key,
                    upload.data,
                    content_type=sniffed.content_type,
                    metadata={"owner": owner, "sha256": sha256, "document-id": document_id},
                )
            except RagError:
                await self._repository.release_bytes(owner, sha256, document_id)
                raise
            event = self._uploaded(
                upload,
                document_id=document_id,
                owner=owner,
                content_type=sniffed.content_type,
                sha256=sha256,
                key=key,
                version_id=stored.version_id,
                tags=tags,
            )
            try:
                state = await self._repository.append(
                    None, [CATALOG.new_event(event, subject=stream_id(document_id))], publish=True
                )
            except RagError:
                # Nothing half-done: the bytes and the claim go, the client may retry.
                await self._objects.delete_version(key, stored.version_id)
                await self._repository.release_bytes(owner, sha256, document_id)
                raise
            reservation.keep()
        return UploadOutcome(state, created=True)

    async def upload_starter_documents(self, identity: Identity) -> list[UploadOutcome]:
        """The packaged starter guides into the shared knowledge base (admins only), in
        `STARTER_DOCUMENTS` order: ordinary uploads, so a second call answers the
        documents the first one made."""
        if not identity.is_admin:
            raise ForbiddenError("Only administrators load the starter knowledge base.")
        return [
            await self.upload(
                identity,
                Upload(name, STARTER_CONTENT_TYPE, starter_document(name), STARTER_TAGS),
                shared=True,
            )
            for name in STARTER_DOCUMENTS
        ]

    async def _claim(self, owner: str, sha256: str, document_id: str) -> DocumentState | None:
        """The live document that already has these bytes, or None once they are ours."""
        for _ in range(3):
            holder = await self._repository.claim_bytes(owner, sha256, document_id)
            if holder is None:
                return None
            state = await self._repository.load(holder)
            if state is not None and not state.deleted:
                return state
            if state is None and not await self._repository.claim_is_stale(owner, sha256):
                raise ConflictError("An upload of the same bytes is in progress; retry shortly.")
            await self._repository.release_bytes(owner, sha256, holder)
        raise ConflictError("Uploads of the same bytes keep colliding; retry shortly.")

    def _uploaded(self, upload: Upload, **fields: object) -> DocumentUploaded:
        return DocumentUploaded.model_validate(
            {
                "filename": safe_filename(upload.filename),
                "size_bytes": len(upload.data),
                "bucket": self._objects.bucket,
                "uploaded_at": self._clock(),
                **fields,
            }
        )

    async def upload_version(
        self, identity: Identity, document_id: str, upload: Upload
    ) -> UploadOutcome:
        """A new version of an existing document: same key, new S3 object version; its
        chunks replace the old ones once it is indexed."""
        self._check_size(upload)
        state = await self._writable(identity, document_id)
        if state.deleted:
            raise ConflictError(f"Document {document_id} is deleted.")
        tags = normalise_tags(upload.tags) if upload.tags else state.tags
        sniffed = sniff(upload.data, upload.content_type, upload.filename)
        sha256 = hashlib.sha256(upload.data).hexdigest()
        if sha256 == state.sha256:
            return UploadOutcome(state, created=False)
        await self._usage.require_chunk_room(state.owner)
        # Every version stays stored until the document is deleted: each one counts.
        async with self._usage.storing(state.owner, len(upload.data)) as reservation:
            new_state = await self._store_version(state, upload, sniffed.content_type, tags)
            reservation.keep()
        return UploadOutcome(new_state, created=True)

    async def _store_version(
        self, state: DocumentState, upload: Upload, content_type: str, tags: Sequence[str]
    ) -> DocumentState:
        document_id = state.document_id
        sha256 = hashlib.sha256(upload.data).hexdigest()
        holder = await self._claim(state.owner, sha256, document_id)
        if holder is not None and holder.document_id != document_id:
            raise DuplicateDocumentError(holder.document_id)
        try:
            stored = await self._objects.put(
                state.key,
                upload.data,
                content_type=content_type,
                metadata={"owner": state.owner, "sha256": sha256, "document-id": document_id},
            )
        except RagError:
            await self._repository.release_bytes(state.owner, sha256, document_id)
            raise
        event = self._uploaded(
            upload,
            document_id=document_id,
            owner=state.owner,
            content_type=content_type,
            sha256=sha256,
            key=state.key,
            version_id=stored.version_id,
            tags=tags,
        )
        try:
            new_state = await self._append_version(
                state, CATALOG.new_event(event, subject=stream_id(document_id))
            )
        except RagError:
            await self._objects.delete_version(state.key, stored.version_id)
            await self._repository.release_bytes(state.owner, sha256, document_id)
            raise
        await self._repository.release_bytes(state.owner, state.sha256, document_id)
        return new_state

    async def _append_version(self, state: DocumentState, uploaded: Envelope) -> DocumentState:
        """Append a new version's DocumentUploaded after ``state``. When only indexing
        appended meanwhile (same bytes, not deleted), append after it; another version or
        a delete in between is the client's conflict (409)."""
        for _ in range(RACE_ATTEMPTS - 1):
            try:
                return await self._repository.append(state, [uploaded], publish=True)
            except ConflictError:
                latest = await self._repository.load(state.document_id)
                if latest is None or latest.deleted or latest.sha256 != state.sha256:
                    raise
                state = latest
        return await self._repository.append(state, [uploaded], publish=True)

    async def get(self, identity: Identity, document_id: str) -> DocumentState:
        state = await self._repository.load(document_id)
        if state is None or state.owner not in visible_owners(identity):
            raise DocumentNotFoundError(document_id)
        return state

    async def _writable(self, identity: Identity, document_id: str) -> DocumentState:
        state = await self.get(identity, document_id)
        if state.owner == SHARED_OWNER and not identity.is_admin:
            raise ForbiddenError("Only administrators change the shared knowledge base.")
        return state

    async def download_url(self, state: DocumentState) -> str:
        return await self._objects.download_url(
            state.key, state.version_id, self.download_url_seconds
        )

    async def list_documents(self, identity: Identity) -> list[DocumentState]:
        owned = await asyncio.gather(
            *(self._repository.list_owned(owner) for owner in visible_owners(identity))
        )
        states = [state for group in owned for state in group if not state.deleted]
        return sorted(states, key=lambda state: state.created_at, reverse=True)

    async def delete(self, identity: Identity, document_id: str) -> DocumentState:
        state = await self._mark_deleted(identity, document_id)
        # Repeated on a second DELETE, so a failure after the append heals on retry.
        await self._objects.delete_all_versions(state.key)
        await asyncio.to_thread(self._index.remove_document, document_id)
        await self._repository.release_bytes(state.owner, state.sha256, document_id)
        return state

    async def _mark_deleted(self, identity: Identity, document_id: str) -> DocumentState:
        """Append DocumentDeleted once. Indexing appends to the same stream, so a delete
        that races it reloads and tries again (the last try's conflict is the answer)."""
        for _ in range(RACE_ATTEMPTS - 1):
            try:
                return await self._append_deleted(identity, document_id)
            except ConflictError:
                continue  # the stream moved on: reload it
        return await self._append_deleted(identity, document_id)

    async def _append_deleted(self, identity: Identity, document_id: str) -> DocumentState:
        state = await self._writable(identity, document_id)
        if state.deleted:
            return state
        event = DocumentDeleted(
            document_id=document_id, owner=state.owner, deleted_at=self._clock()
        )
        state = await self._repository.append(
            state, [CATALOG.new_event(event, subject=stream_id(document_id))], publish=True
        )
        await self._usage.release(
            state.owner, stored_bytes=state.stored_bytes, chunks=state.chunk_count or 0
        )
        return state

    async def search(
        self,
        identity: Identity,
        query: str,
        *,
        k: int,
        document_ids: Sequence[str] | None = None,
        tags: Sequence[str] | None = None,
        mode: SearchMode = "hybrid",
    ) -> list[Hit]:
        started = time.perf_counter()
        hits = await asyncio.to_thread(
            self._index.search,
            query,
            k=k,
            owners=visible_owners(identity),
            document_ids=document_ids,
            tags=normalise_tags(tags) if tags is not None else None,
            mode=mode,
        )
        if self._metrics is not None:
            elapsed_ms = (time.perf_counter() - started) * 1000
            self._metrics.record("SearchLatency", elapsed_ms, unit="Milliseconds")
        return hits
