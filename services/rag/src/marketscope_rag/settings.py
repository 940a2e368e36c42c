"""Settings of the rag service: ``MARKETSCOPE_RAG_*`` variables whose defaults run
the embedded stack (AWS endpoint and region are the shared ``AWS_*`` ones)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from marketscope_events.catalog import queue_name
from marketscope_platform.topology import DOCUMENTS_BUCKET, SERVICES
from marketscope_rag.embeddings.query_cache import QUERY_VECTORS_KEPT
from marketscope_servicekit import ServiceSettings

SERVICE = SERVICES["rag"]
# The working directory's git-ignored state folder, shared with `marketscope up`.
DEFAULT_INDEX_PATH = Path(".marketscope/rag/chroma")


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix=SERVICE.env_prefix)

    port: int = SERVICE.port
    table_name: str = SERVICE.table
    queue_name: str = queue_name(SERVICE.name)
    documents_bucket: str = DOCUMENTS_BUCKET
    documents_prefix: str = SERVICE.own_prefix()
    index_path: Path = Field(
        default=DEFAULT_INDEX_PATH,
        description="Chroma directory; only this process may write it",
    )
    max_upload_bytes: int = Field(default=20 * 1024 * 1024, gt=0)
    storage_quota_bytes: int = Field(
        default=100 * 1024 * 1024, gt=0, description="Bytes of every stored version, per owner"
    )
    chunk_quota: int = Field(default=20_000, gt=0, description="Indexed chunks per owner")
    max_document_chunks: int = Field(default=2_000, gt=0, description="Chunks of one document")
    indexing_slice_chunks: int = Field(
        default=16, gt=0, description="Chunks embedded per turn before other owners' work"
    )
    chunk_tokens: int = Field(default=200, ge=32, le=254)
    chunk_overlap_tokens: int = Field(default=32, ge=0, le=128)
    download_url_seconds: int = Field(default=900, ge=1, le=7 * 24 * 3600)
    openai_api_key: SecretStr | None = None
    openai_base_url: str | None = None
    openai_embedding_model: str = "text-embedding-3-small"
    query_vectors_kept: int = Field(
        default=QUERY_VECTORS_KEPT, ge=0, description="Recent queries' vectors kept; 0: off"
    )
    glossary_path: Path | None = Field(
        default=None,
        description="TOML glossary of everyday phrasings for keyword search; unset: the "
        "bundled finance glossary, an empty file: none",
    )
    poll_wait_seconds: int = Field(default=10, ge=0, le=20)
    # Off only where many short-lived apps share one table (the test suite): each would
    # otherwise re-embed every document the others left there.
    reconcile_index_at_start: bool = True
