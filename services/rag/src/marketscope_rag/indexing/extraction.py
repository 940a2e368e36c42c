"""What a document really is, and its text.

The declared content type of an upload is a claim, not a fact: the bytes are sniffed
(magic numbers for binary formats, UTF-8 and structure for text formats) and an upload is
refused with 415 when they do not support the claim. JSON is parsed with a nesting limit
(`loads_untrusted`): a document nested deeper is refused with 422 at upload, before the
standard parser's recursion could fail. Text is extracted only at indexing time, from the
stored object, so a corrupt file fails there and marks its document failed.
"""

from __future__ import annotations

import codecs
import io
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

import filetype  # type: ignore[import-untyped]
from bs4 import BeautifulSoup
from bs4.element import NavigableString, PageElement, Tag
from pypdf import PdfReader
from pypdf.errors import PyPdfError

from marketscope_rag.errors import ExtractionError, InvalidDocumentError, UnsupportedDocumentError
from marketscope_servicekit.json_limits import JsonTooDeep, loads_untrusted

Kind = Literal["pdf", "markdown", "text", "html", "json"]

CONTENT_TYPES: dict[Kind, str] = {
    "pdf": "application/pdf",
    "markdown": "text/markdown",
    "text": "text/plain",
    "html": "text/html",
    "json": "application/json",
}
_DECLARED: dict[str, Kind] = {
    "application/pdf": "pdf",
    "application/x-pdf": "pdf",
    "text/markdown": "markdown",
    "text/x-markdown": "markdown",
    "text/plain": "text",
    "text/html": "html",
    "application/xhtml+xml": "html",
    "application/json": "json",
    "text/json": "json",
}
_EXTENSIONS: dict[str, Kind] = {
    "pdf": "pdf",
    "md": "markdown",
    "markdown": "markdown",
    "txt": "text",
    "text": "text",
    "html": "html",
    "htm": "html",
    "json": "json",
}
# Types that say nothing about the bytes: the file name's extension decides then.
_GENERIC = {"", "application/octet-stream", "binary/octet-stream"}
_UNSEEN = frozenset({"script", "style", "noscript", "template"})
_HEADINGS = {f"h{level}": level for level in range(1, 7)}
_BLOCKS = frozenset({"p", "li", "tr", "div", "br", "pre", "blockquote"})
_HTML_START = re.compile(rb"^\s*(<!doctype\s+html|<html|<head|<body)", re.IGNORECASE)

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Sniffed:
    kind: Kind

    @property
    def content_type(self) -> str:
        return CONTENT_TYPES[self.kind]


@dataclass(frozen=True)
class _BlockEnd:
    """What follows a block element's text once its children are walked."""

    text: str


def declared_kind(content_type: str | None, filename: str) -> Kind | None:
    """The kind a client claims; None when it claims nothing usable (octet-stream and an
    unknown extension). Raises 415 for a type this service does not take."""
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    if media_type in _DECLARED:
        return _DECLARED[media_type]
    if media_type not in _GENERIC:
        raise UnsupportedDocumentError(
            f"{media_type} is not supported; send Markdown, text, HTML, PDF or JSON.",
            declared=media_type,
            detected=None,
        )
    extension = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    return _EXTENSIONS.get(extension)


def sniff(data: bytes, content_type: str | None, filename: str) -> Sniffed:
    """The document's real kind, checked against what the client declared."""
    if not data:
        raise InvalidDocumentError("The document is empty.")
    claimed = declared_kind(content_type, filename)
    guess = filetype.guess(data)
    if guess is not None:
        detected = str(guess.mime)
        if detected != "application/pdf":
            raise UnsupportedDocumentError(
                f"The bytes are {detected}, which is not supported.",
                declared=content_type,
                detected=detected,
            )
        if claimed not in (None, "pdf"):
            raise _lying(content_type, "application/pdf")
        return Sniffed("pdf")
    if claimed == "pdf":
        raise _lying(content_type, "text" if _is_utf8(data) else "unknown binary")
    if not _is_utf8(data) or b"\x00" in data:
        raise UnsupportedDocumentError(
            "The bytes are neither a PDF nor UTF-8 text.",
            declared=content_type,
            detected="application/octet-stream",
        )
    if claimed == "json":
        if not _is_json(data):
            raise _lying(content_type, "text/plain")
        return Sniffed("json")
    if claimed is not None:
        return Sniffed(claimed)
    if _is_json(data):
        return Sniffed("json")
    return Sniffed("html" if _HTML_START.match(data) else "text")


def _lying(declared: str | None, detected: str) -> UnsupportedDocumentError:
    return UnsupportedDocumentError(
        f"The content type says {declared} but the bytes are {detected}.",
        declared=declared,
        detected=detected,
    )


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _is_json(data: bytes) -> bool:
    """Whether the bytes are a JSON object or array; too deep a nesting is refused (422)
    rather than taken for text, since the client sent JSON that no reader could parse."""
    if not data.removeprefix(codecs.BOM_UTF8).lstrip().startswith((b"{", b"[")):
        return False  # text with brackets in it is not JSON, however deep they go
    try:
        return isinstance(loads_untrusted(data), dict | list)
    except JsonTooDeep as exc:
        raise InvalidDocumentError(
            f"The document is JSON nested deeper than {exc.limit} levels.",
            extensions={"max_depth": exc.limit},
        ) from exc
    except ValueError:
        return False


def extract_text(data: bytes, content_type: str) -> str:
    """Plain text of a stored document; chunk offsets refer to this text.

    Raises `ExtractionError` for bytes that cannot be read (a terminal failure).
    """
    kind = _DECLARED.get(content_type.split(";", 1)[0].strip().lower())
    if kind is None:
        raise ExtractionError(f"cannot extract text from {content_type}")
    if kind == "pdf":
        text = _pdf_text(data)
    else:
        try:
            decoded = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise ExtractionError(f"not UTF-8 text: {exc}") from exc
        if kind == "html":
            text = _html_text(decoded)
        elif kind == "json":
            text = _json_text(decoded)
        else:
            text = decoded.replace("\r\n", "\n")
    if not text.strip():
        raise ExtractionError("the document contains no extractable text")
    return text


def _pdf_text(data: bytes) -> str:
    # pypdf raises a wide range of exceptions on damaged files, not only PyPdfError; a
    # PDF whose objects nest without end exhausts its recursion.
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            raise ExtractionError("the PDF is encrypted")
        pages = [page.extract_text() or "" for page in reader.pages]
    except ExtractionError:
        raise
    except (
        PyPdfError,
        ValueError,
        KeyError,
        TypeError,
        AttributeError,
        OSError,
        RecursionError,
    ) as exc:
        raise ExtractionError(f"unreadable PDF: {type(exc).__name__}: {exc}") from exc
    if not pages:
        raise ExtractionError("unreadable PDF: it has no pages")
    return "\n\n".join(page.strip() for page in pages)


def _html_text(markup: str) -> str:
    """The page's text with headings as Markdown headings (so the chunker can prefer their
    boundaries) and blank lines after blocks. One walk with an explicit stack: its cost is
    linear however deep the elements nest (recursion, or bs4's ``insert_after``, would
    make a 1 MB page of nested ``<div>`` take minutes)."""
    soup = BeautifulSoup(markup, "html.parser")
    for element in soup(sorted(_UNSEEN)):
        element.decompose()
    wanted = soup.interesting_string_types or Tag.MAIN_CONTENT_STRING_TYPES
    parts: list[str] = []
    pending: list[PageElement | _BlockEnd] = [soup]
    while pending:
        node = pending.pop()
        if isinstance(node, _BlockEnd):
            parts.append(node.text)
        elif isinstance(node, NavigableString):
            if type(node) in wanted:
                parts.append(str(node))
        elif isinstance(node, Tag):
            level = _HEADINGS.get(node.name)
            if level is not None:
                parts.append(f"\n\n{'#' * level} {node.get_text(' ', strip=True)}\n\n")
                continue
            if node.name in _BLOCKS:
                pending.append(_BlockEnd("\n" if node.name == "br" else "\n\n"))
            pending.extend(reversed(node.contents))
    lines = [re.sub(r"[ \t]+", " ", line).strip() for line in "".join(parts).splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def _json_text(decoded: str) -> str:
    try:
        document = loads_untrusted(decoded)
    except ValueError as exc:  # JsonTooDeep included: its depth bounds `_leaves` below
        raise ExtractionError(f"invalid JSON: {exc}") from exc
    return "\n".join(
        f"{path}: {value}" if path else str(value) for path, value in _leaves(document)
    )


def _leaves(value: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _leaves(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _leaves(item, f"{path}[{index}]")
    else:
        yield path, value
