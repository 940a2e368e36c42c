"""Searching the user's documents (and the shared knowledge base) through rag.

rag searches as the signed identity, so a user finds their own and the shared documents
only. Each passage shown to the model carries ``n``, the number the answer cites it by
(``[1]``); ``ToolOutput.citations`` holds the same passages in the same order.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import Field

from marketscope_chat.tools.arguments import Arguments
from marketscope_chat.tools.base import Citation, Tool, ToolContext, ToolOutput
from marketscope_chat.tools.clients import ServiceCaller
from marketscope_chat.tools.trimming import fit_list

LOCATION = ("version_id", "chunk_index", "start", "end")


class SearchArguments(Arguments):
    query: str = Field(
        min_length=1,
        max_length=2000,
        description="What to look for, in words: a question or the key terms",
    )
    limit: int = Field(default=5, ge=1, le=10, description="How many passages, best first")


def chunk_id(hit: dict[str, Any]) -> str:
    """rag's id of the chunk (document, S3 version, index), which its API does not send."""
    cited = hit["citation"]
    version = cited.get("version_id") or "unversioned"
    return f"{cited['document_id']}:{version}:{cited['chunk_index']}"


def passage(n: int, hit: dict[str, Any]) -> dict[str, Any]:
    cited = hit["citation"]
    return {
        "n": n,
        "document_id": cited["document_id"],
        "filename": cited["filename"],
        "chunk_id": chunk_id(hit),
        "section": hit.get("section", ""),
        "text": hit["text"],
        "score": hit["score"],
    }


class SearchDocumentsTool(Tool[SearchArguments]):
    name = "search_documents"
    description = (
        "Search the user's uploaded documents and the shared knowledge base (hybrid keyword "
        "and semantic search). Returns passages, best first, each numbered n: cite a "
        "passage as [n] when the answer uses it."
    )
    arguments = SearchArguments
    default_budget: ClassVar[int] = 2_500

    def __init__(self, rag: ServiceCaller, *, budget: int | None = None) -> None:
        self._rag = rag
        self.budget = budget or self.default_budget

    def citation_slots(self, args: SearchArguments) -> int:
        return args.limit

    async def run(self, args: SearchArguments, context: ToolContext) -> ToolOutput:
        body = {"query": args.query, "k": args.limit}
        found = await self._rag.post_json(
            "/search", context.identity, body, traceparent=context.traceparent
        )
        first = context.citation_start
        passages = [passage(n, hit) for n, hit in enumerate(found["hits"], start=first)]
        text, shown = fit_list(
            lambda kept: {"query": args.query, "results": kept}, passages, self.budget
        )
        citations = tuple(
            Citation(
                document_id=item["document_id"],
                filename=item["filename"],
                chunk_id=item["chunk_id"],
                text=item["text"],
                score=item["score"],
                index=item["n"],
            )
            for item in passages[:shown]
        )
        files = list(dict.fromkeys(item["filename"] for item in passages))
        summary = (
            f'search "{args.query}": {len(passages)} passages from {", ".join(files)}'
            if passages
            else f'search "{args.query}": nothing found'
        )
        # The whole result, numbered as the model sees it, with where each passage lies.
        data = {
            "query": found["query"],
            "mode": found["mode"],
            "results": [
                item | {key: hit["citation"][key] for key in LOCATION} | {"owner": hit["owner"]}
                for item, hit in zip(passages, found["hits"], strict=True)
            ],
        }
        return ToolOutput(data, text, summary, citations)
