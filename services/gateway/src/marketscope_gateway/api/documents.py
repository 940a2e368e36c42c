"""Document routes: relayed to rag with the caller's identity (rag scopes every document
to its owner, so one user never sees another's)."""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response
from starlette.requests import ClientDisconnect

from marketscope_gateway.api.deps import Caller, Gateway, relay, relayed
from marketscope_gateway.errors import InvalidRequest
from marketscope_gateway.schemas import SearchRequest
from marketscope_servicekit import (
    Conflict,
    Forbidden,
    NotFound,
    PayloadTooLarge,
    TooManyRequests,
    UnsupportedMediaType,
)

router = APIRouter(prefix="/api/v1", tags=["documents"])
DocumentId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,128}$")]
SERVICE_PREFIX = re.compile(rb'"(/documents/)')
# rag's answers, relayed. An upload: 403 for the shared knowledge base without the admin
# role, 409 while another version is indexed, 413 over the size or storage quota, 415
# for a type rag cannot index, 422 for one it cannot read, 429 over the chunk quota.
UPLOAD_ERRORS = (Forbidden, Conflict, PayloadTooLarge, UnsupportedMediaType, TooManyRequests)
UPLOADED = relayed(*UPLOAD_ERRORS, answer="Same bytes as before: the existing document")
NEW_VERSION = relayed(
    *UPLOAD_ERRORS, NotFound, answer="Same bytes as the current version: the document"
)
LISTED = relayed()
FOUND = relayed(NotFound)
DELETED = relayed(Forbidden, NotFound, Conflict, answer="Deleted", success=204)
SEARCHED = relayed()

UPLOAD_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {"type": "string", "format": "binary"},
                        "tags": {"type": "string", "description": "Comma-separated tags"},
                    },
                }
            }
        },
    }
}


def _public(response: Response) -> Response:
    """rag's own links (``/documents/<id>``) as the gateway's (``/api/v1/documents/<id>``)."""
    location = response.headers.get("location")
    if location and location.startswith("/documents/"):
        response.headers["location"] = "/api/v1" + location
    body = SERVICE_PREFIX.sub(rb'"/api/v1\1', bytes(response.body))
    if body != response.body:
        response.body = body
        response.headers["content-length"] = str(len(body))
    return response


@router.post(
    "/documents",
    response_model=None,
    responses=UPLOADED,
    status_code=202,
    openapi_extra=UPLOAD_BODY,
)
async def upload(request: Request, caller: Caller, gateway: Gateway) -> Response:
    """Upload a document (multipart ``file``, optional ``tags``); 202 while it is indexed,
    200 with the existing document when the same bytes were uploaded before."""
    return await _stream_upload(request, caller, gateway, None)


async def _stream_upload(
    request: Request, caller: Caller, gateway: Gateway, document_id: str | None
) -> Response:
    content_type = request.headers.get("content-type", "")
    if not content_type.startswith("multipart/form-data"):
        raise InvalidRequest("Upload a document as multipart/form-data with a 'file' part.")
    try:
        upstream = await gateway.rag.upload(
            caller.identity, request.stream(), content_type, document_id=document_id
        )
    except ClientDisconnect as exc:
        # The client left mid-upload, or the body limit cut it off (and answered 413).
        raise InvalidRequest("The upload ended before its body was complete.") from exc
    return _public(relay(upstream))


@router.put(
    "/documents/{document_id}",
    response_model=None,
    responses=NEW_VERSION,
    status_code=202,
    openapi_extra=UPLOAD_BODY,
)
async def upload_version(
    document_id: DocumentId, request: Request, caller: Caller, gateway: Gateway
) -> Response:
    """Upload a new version of a document; its chunks replace the old ones once indexed."""
    return await _stream_upload(request, caller, gateway, document_id)


@router.get("/documents", response_model=None, responses=LISTED)
async def documents(caller: Caller, gateway: Gateway) -> Response:
    """The caller's documents and the shared knowledge base, newest first."""
    return _public(relay(await gateway.rag.documents(caller.identity)))


@router.get("/documents/{document_id}", response_model=None, responses=FOUND)
async def document(document_id: DocumentId, caller: Caller, gateway: Gateway) -> Response:
    return _public(relay(await gateway.rag.document(caller.identity, document_id)))


@router.delete("/documents/{document_id}", response_model=None, responses=DELETED, status_code=204)
async def delete_document(document_id: DocumentId, caller: Caller, gateway: Gateway) -> Response:
    return _public(relay(await gateway.rag.delete(caller.identity, document_id)))


@router.post("/search", response_model=None, responses=SEARCHED)
async def search(body: SearchRequest, caller: Caller, gateway: Gateway) -> Response:
    """Hybrid search over the caller's documents and the shared knowledge base."""
    return relay(await gateway.rag.search(caller.identity, body.model_dump(exclude_none=True)))
