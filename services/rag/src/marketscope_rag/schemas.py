"""Request and response models of the HTTP API (explicit, so the OpenAPI document that
the gateway's contract test pins is precise)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from marketscope_rag.documents.state import DocumentState, DocumentStatus
from marketscope_rag.search.lexical_index import snippet
from marketscope_rag.search.retrieval import Hit


class DocumentAccepted(BaseModel):
    document_id: str
    status: DocumentStatus
    status_url: str = Field(description="Where to follow indexing: GET it until indexed")
    version_id: str | None = Field(description="S3 object version of this upload")
    deduplicated: bool = Field(
        description="True when these bytes already were this document: nothing re-indexed"
    )

    @classmethod
    def of(cls, state: DocumentState, *, deduplicated: bool) -> DocumentAccepted:
        return cls(
            document_id=state.document_id,
            status=state.status,
            status_url=f"/documents/{state.document_id}",
            version_id=state.version_id,
            deduplicated=deduplicated,
        )


class DocumentSummary(BaseModel):
    document_id: str
    owner: str = Field(description="The caller's user id, or `shared`")
    filename: str
    content_type: str
    size_bytes: int
    sha256: str
    tags: list[str]
    status: DocumentStatus
    version_id: str | None
    versions: int = Field(description="How many versions were uploaded")
    chunk_count: int | None = Field(description="Chunks of the last indexed version")
    embedding_model: str | None
    failure_reason: str | None = Field(description="Why indexing failed (status `failed`)")
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, state: DocumentState) -> DocumentSummary:
        return cls(
            document_id=state.document_id,
            owner=state.owner,
            filename=state.filename,
            content_type=state.content_type,
            size_bytes=state.size_bytes,
            sha256=state.sha256,
            tags=state.tags,
            status=state.status,
            version_id=state.version_id,
            versions=state.versions,
            chunk_count=state.chunk_count,
            embedding_model=state.embedding_model,
            failure_reason=state.failure_reason,
            created_at=state.created_at,
            updated_at=state.updated_at,
        )


class Download(BaseModel):
    url: str = Field(description="Presigned GET of the current object version")
    expires_at: datetime


class DocumentDetail(DocumentSummary):
    download: Download | None = Field(description="Absent once the document is deleted")


class DocumentList(BaseModel):
    documents: list[DocumentSummary]


class SearchRequest(BaseModel):
    query: str = Field(min_length=1, max_length=2000)
    k: int = Field(default=5, ge=1, le=50)
    document_ids: list[str] | None = Field(
        default=None, max_length=100, description="Only these documents (of those visible)"
    )
    tags: list[str] | None = Field(
        default=None, max_length=20, description="Only chunks of documents with any of these tags"
    )
    mode: Literal["hybrid", "vector", "bm25"] = Field(
        default="hybrid", description="hybrid fuses BM25 and vector rankings (RRF)"
    )


class Citation(BaseModel):
    document_id: str
    filename: str
    version_id: str | None = Field(description="S3 object version the chunk was cut from")
    chunk_index: int
    start: int = Field(description="First character of the chunk in the extracted text")
    end: int = Field(description="One past its last character")


class SearchHit(BaseModel):
    citation: Citation
    score: float = Field(
        description="hybrid: RRF score; vector: cosine similarity; bm25: BM25 score"
    )
    snippet: str
    text: str = Field(description="The whole chunk")
    section: str = Field(description="Headings the chunk sits under, `A > B`")
    owner: str

    @classmethod
    def of(cls, hit: Hit, query: str) -> SearchHit:
        record = hit.record
        return cls(
            citation=Citation(
                document_id=record.document_id,
                filename=record.filename,
                version_id=record.version_id,
                chunk_index=record.chunk_index,
                start=record.start,
                end=record.end,
            ),
            score=hit.score,
            snippet=snippet(record.text, query),
            text=record.text,
            section=record.section,
            owner=record.owner,
        )


class SearchResponse(BaseModel):
    query: str
    mode: Literal["hybrid", "vector", "bm25"]
    hits: list[SearchHit]


class StarterKnowledgeBase(BaseModel):
    documents: list[DocumentAccepted] = Field(
        description="The starter guides as shared documents, in their packaged order"
    )
