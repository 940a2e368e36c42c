"""HTTP layer of the rag service: documents, search and the starter knowledge base.

The owner of every request is the caller's identity from the gateway-signed headers
(`current_identity`); the domain lives in `DocumentService`, reached through the app's
components (503 until they are built).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Request, Response, UploadFile, status

from marketscope_events.timeutil import utc_now
from marketscope_rag.components import Components
from marketscope_rag.errors import (
    ChunkQuotaExceededError,
    ConflictError,
    DocumentNotFoundError,
    DocumentTooLargeError,
    ForbiddenError,
    InvalidDocumentError,
    UnsupportedDocumentError,
)
from marketscope_rag.schemas import (
    DocumentAccepted,
    DocumentDetail,
    DocumentList,
    DocumentSummary,
    Download,
    SearchHit,
    SearchRequest,
    SearchResponse,
    StarterKnowledgeBase,
)
from marketscope_rag.service import DocumentService, Upload, UploadOutcome
from marketscope_servicekit import Identity, InvalidRequest, components_of, current_identity
from marketscope_servicekit.openapi_problems import problem_responses

router = APIRouter(tags=["rag"])

Caller = Annotated[Identity, Depends(current_identity)]


# The problems an upload answers: not an admin for the shared knowledge base (403),
# another version being indexed (409), over the size or storage quota (413), a type
# that cannot be indexed (415), unreadable content (422), over the chunk quota (429).
UPLOAD_PROBLEMS = (
    ForbiddenError,
    ConflictError,
    DocumentTooLargeError,
    UnsupportedDocumentError,
    InvalidDocumentError,
    ChunkQuotaExceededError,
)


def documents(request: Request) -> DocumentService:
    return components_of(request, Components).documents


Documents = Annotated[DocumentService, Depends(documents)]
FileField = Annotated[UploadFile, File(description="Markdown, text, HTML, PDF or JSON")]
TagsField = Annotated[str | None, Form(description="Comma-separated tags")]


async def _upload(file: UploadFile, tags: str | None, limit: int) -> Upload:
    # One byte past the limit is enough to know it is too large; never more in memory.
    data = await file.read(limit + 1)
    return Upload(
        filename=file.filename or "document",
        content_type=file.content_type,
        data=data,
        tags=[tag for tag in (tags or "").split(",") if tag.strip()],
    )


def _accepted(outcome: UploadOutcome, response: Response) -> DocumentAccepted:
    accepted = DocumentAccepted.of(outcome.document, deduplicated=not outcome.created)
    response.status_code = status.HTTP_202_ACCEPTED if outcome.created else status.HTTP_200_OK
    response.headers["Location"] = accepted.status_url
    return accepted


@router.post(
    "/documents",
    status_code=status.HTTP_202_ACCEPTED,
    responses={
        200: {"model": DocumentAccepted, "description": "Same bytes: the existing document"},
        **problem_responses(*UPLOAD_PROBLEMS),
    },
)
async def upload_document(
    caller: Caller,
    service: Documents,
    response: Response,
    file: FileField,
    tags: TagsField = None,
    shared: Annotated[bool, Form(description="Into the shared knowledge base (admins)")] = False,
) -> DocumentAccepted:
    """Store a document and queue it for indexing (202); the same bytes again from the
    same owner answer 200 with the existing document."""
    upload = await _upload(file, tags, service.max_upload_bytes)
    return _accepted(await service.upload(caller, upload, shared=shared), response)


@router.put(
    "/documents/{document_id}",
    status_code=status.HTTP_202_ACCEPTED,
    responses={
        200: {"model": DocumentAccepted, "description": "Same bytes as the current version"},
        **problem_responses(*UPLOAD_PROBLEMS, DocumentNotFoundError),
    },
)
async def upload_document_version(
    document_id: str,
    caller: Caller,
    service: Documents,
    response: Response,
    file: FileField,
    tags: TagsField = None,
) -> DocumentAccepted:
    """Upload a new version; its chunks replace the old ones once indexed."""
    upload = await _upload(file, tags, service.max_upload_bytes)
    return _accepted(await service.upload_version(caller, document_id, upload), response)


@router.get("/documents")
async def list_documents(caller: Caller, service: Documents) -> DocumentList:
    """The caller's documents and the shared knowledge base, newest first."""
    states = await service.list_documents(caller)
    return DocumentList(documents=[DocumentSummary.of(state) for state in states])


@router.get("/documents/{document_id}", responses=problem_responses(DocumentNotFoundError))
async def get_document(document_id: str, caller: Caller, service: Documents) -> DocumentDetail:
    """Status, metadata and a presigned download URL of the current version."""
    state = await service.get(caller, document_id)
    download = None
    if not state.deleted:
        expires_at = utc_now() + timedelta(seconds=service.download_url_seconds)
        download = Download(url=await service.download_url(state), expires_at=expires_at)
    return DocumentDetail(**DocumentSummary.of(state).model_dump(), download=download)


@router.delete(
    "/documents/{document_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(ForbiddenError, DocumentNotFoundError, ConflictError),
)
async def delete_document(document_id: str, caller: Caller, service: Documents) -> Response:
    """Delete a document: its chunks leave the index, S3 gets a delete marker."""
    await service.delete(caller, document_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/search", responses=problem_responses(InvalidRequest))
async def search(request: SearchRequest, caller: Caller, service: Documents) -> SearchResponse:
    """Hybrid search (BM25 + vectors, RRF) over the caller's and the shared documents."""
    hits = await service.search(
        caller,
        request.query,
        k=request.k,
        document_ids=request.document_ids or None,
        tags=request.tags or None,
        mode=request.mode,
    )
    return SearchResponse(
        query=request.query,
        mode=request.mode,
        hits=[SearchHit.of(hit, request.query) for hit in hits],
    )


@router.post(
    "/knowledge-base/starter",
    status_code=status.HTTP_202_ACCEPTED,
    responses={
        200: {"model": StarterKnowledgeBase, "description": "All of them were there already"},
        **problem_responses(ForbiddenError, ConflictError),
    },
)
async def upload_starter_knowledge_base(
    caller: Caller, service: Documents, response: Response
) -> StarterKnowledgeBase:
    """Upload the starter guides shipped with the service into the shared knowledge base
    (admins only). Idempotent: guides already there answer their existing documents, and
    the status is 200 when nothing new was queued for indexing."""
    outcomes = await service.upload_starter_documents(caller)
    if not any(outcome.created for outcome in outcomes):
        response.status_code = status.HTTP_200_OK
    return StarterKnowledgeBase(
        documents=[
            DocumentAccepted.of(outcome.document, deduplicated=not outcome.created)
            for outcome in outcomes
        ]
    )
