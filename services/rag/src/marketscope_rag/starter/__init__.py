"""The starter knowledge base: Markdown guides shipped with the service, uploaded into the
shared knowledge base (owner ``shared``) by ``POST /knowledge-base/starter``.

``marketscope up`` calls that route once the services are ready. It is idempotent:
uploading the same bytes again answers with the existing document (dedup by owner and
sha256), so nothing is indexed twice.
"""

from __future__ import annotations

from importlib.resources import files

STARTER_DOCUMENTS = (
    "financial-ratios.md",
    "technical-indicators.md",
    "risk-metrics.md",
    "reading-marketscope-analyses.md",
)
STARTER_TAGS = ("starter", "knowledge-base")
STARTER_CONTENT_TYPE = "text/markdown"


def starter_document(name: str) -> bytes:
    return files(__package__).joinpath(name).read_bytes()
