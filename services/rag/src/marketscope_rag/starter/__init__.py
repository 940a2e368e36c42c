"""The starter knowledge base: Markdown guides shipped with the service and uploaded
into the shared knowledge base (owner ``shared``) through the ordinary HTTP API.

``marketscope up`` calls `upload_starter_documents` once the services are ready. It is
idempotent: uploading the same bytes again answers with the existing document (dedup by
owner and sha256), so nothing is indexed twice.
"""

from __future__ import annotations

from importlib.resources import files

import httpx

from marketscope_servicekit import Identity, sign_identity

STARTER_DOCUMENTS = (
    "financial-ratios.md",
    "technical-indicators.md",
    "risk-metrics.md",
    "reading-marketscope-analyses.md",
)
STARTER_TAGS = "starter,knowledge-base"
UPLOADER = Identity("marketscope-starter", frozenset({"admin"}))


def starter_document(name: str) -> bytes:
    return files(__package__).joinpath(name).read_bytes()


async def upload_starter_documents(
    base_url: str, internal_key: str, *, client: httpx.AsyncClient | None = None
) -> list[str]:
    """Upload the starter documents as shared documents; returns their document ids in
    `STARTER_DOCUMENTS` order. Raises ``httpx.HTTPStatusError`` when the service refuses."""
    own_client = client is None
    http = client or httpx.AsyncClient(base_url=base_url, timeout=30.0)
    try:
        ids: list[str] = []
        for name in STARTER_DOCUMENTS:
            response = await http.post(
                f"{base_url.rstrip('/')}/documents",
                headers=sign_identity(internal_key, UPLOADER),
                files={"file": (name, starter_document(name), "text/markdown")},
                data={"shared": "true", "tags": STARTER_TAGS},
            )
            response.raise_for_status()
            ids.append(str(response.json()["document_id"]))
        return ids
    finally:
        if own_client:
            await http.aclose()
