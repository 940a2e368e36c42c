"""A chunk as the index stores it: its text, where it was cut from (document, S3 version,
character span) and who may see it (owner, tags)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# Chroma filters on scalar metadata only: each tag is also a boolean field of its own.
TAG_KEY = "tag:"


@dataclass(frozen=True)
class ChunkRecord:
    """A chunk as stored: its text, where it comes from, and who may see it."""

    chunk_id: str
    document_id: str
    owner: str
    filename: str
    version_id: str | None
    chunk_index: int
    start: int
    end: int
    section: str
    text: str
    tags: tuple[str, ...] = ()

    @property
    def search_text(self) -> str:
        return f"{self.section}\n{self.text}" if self.section else self.text

    def metadata(self) -> dict[str, str | int | bool]:
        fields: dict[str, str | int | bool] = {
            "document_id": self.document_id,
            "owner": self.owner,
            "filename": self.filename,
            "version_id": self.version_id or "",
            "chunk_index": self.chunk_index,
            "start": self.start,
            "end": self.end,
            "section": self.section,
            "tags": ",".join(self.tags),
        }
        fields.update({TAG_KEY + tag: True for tag in self.tags})
        return fields

    @classmethod
    def from_stored(cls, chunk_id: str, text: str, metadata: dict[str, Any]) -> ChunkRecord:
        tags = str(metadata.get("tags") or "")
        return cls(
            chunk_id=chunk_id,
            document_id=str(metadata["document_id"]),
            owner=str(metadata["owner"]),
            filename=str(metadata["filename"]),
            version_id=str(metadata["version_id"]) or None,
            chunk_index=int(metadata["chunk_index"]),
            start=int(metadata["start"]),
            end=int(metadata["end"]),
            section=str(metadata.get("section") or ""),
            text=text,
            tags=tuple(tag for tag in tags.split(",") if tag),
        )
